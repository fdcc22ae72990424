// Prometheus metrics of one process: HTTP traffic, jobs, queue depth and TensorFlow.js state.
import * as tf from '@tensorflow/tfjs';
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { withDeadline } from './deadline.js';

/** Queue states reported by the depth gauge, as BullMQ names them. */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;

/** The instruments a process records into, and the registry /metrics reads. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  jobsFinished: Counter<'type' | 'state'>;
  jobDuration: Histogram<'type' | 'method'>;
  modelRows: Counter<'method'>;
}

/**
 * Creates a registry with the service's metrics and Node's default process metrics.
 * Each call builds its own registry, so that several apps in one process (tests) stay apart.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'glassbox_' });
  const registers = [registry];

  const metrics: Metrics = {
    registry,
    httpRequests: new Counter({
      name: 'glassbox_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'glassbox_http_request_duration_seconds',
      help: 'Time from request to response, by route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    jobsFinished: new Counter({
      name: 'glassbox_jobs_total',
      help: 'Jobs that ended in this process (completed, failed, cancelled), by job type and state',
      labelNames: ['type', 'state'],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'glassbox_job_duration_seconds',
      help: 'Time a completed job attempt ran in the worker, by job type and method',
      labelNames: ['type', 'method'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    modelRows: new Counter({
      name: 'glassbox_model_rows_evaluated_total',
      help: 'Rows the models evaluated for completed jobs, by method',
      labelNames: ['method'],
      registers,
    }),
  };
  registerTensorflowGauges(registry);

  return metrics;
}

function registerTensorflowGauges(registry: Registry): void {
  new Gauge({
    name: 'glassbox_tfjs_backend_info',
    help: 'The TensorFlow.js backend in use (value 1, name in the label)',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      const backend = tf.getBackend();
      if (backend) this.set({ backend }, 1);
    },
  });
  new Gauge({
    name: 'glassbox_tfjs_tensors',
    help: 'Tensors alive in TensorFlow.js',
    registers: [registry],
    collect() {
      this.set(tf.memory().numTensors);
    },
  });
}

/**
 * Adds the queue depth gauge, read from Redis at each scrape. When Redis does not answer the
 * gauge is left empty for that scrape rather than failing the whole /metrics answer.
 */
export function registerQueueDepth(metrics: Metrics, queue: Queue): void {
  new Gauge({
    name: 'glassbox_queue_jobs',
    help: 'Jobs in the queue by state',
    labelNames: ['state'],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      try {
        const counts = await withDeadline(queue.getJobCounts(...QUEUE_STATES));
        for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
      } catch {
        // Readiness reports the outage; metrics stay available for everything else.
      }
    },
  });
}

/** What a finished job attempt contributes to the job metrics. */
export interface JobRecord {
  type: string;
  method: string;
  durationSeconds: number;
  modelRows: number;
}

export function recordCompletedJob(metrics: Metrics, job: JobRecord): void {
  metrics.jobsFinished.inc({ type: job.type, state: 'completed' });
  metrics.jobDuration.observe({ type: job.type, method: job.method }, job.durationSeconds);
  metrics.modelRows.inc({ method: job.method }, job.modelRows);
}

/** Counts a job that ended without a result: failed after its last try, or cancelled. */
export function recordFinishedJob(
  metrics: Metrics,
  type: string,
  state: 'failed' | 'cancelled',
): void {
  metrics.jobsFinished.inc({ type, state });
}
