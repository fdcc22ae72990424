// Service configuration: one zod schema over the environment, parsed once at start-up.
import path from 'node:path';
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const TFJS_BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type TfjsBackendChoice = (typeof TFJS_BACKENDS)[number];

/** Every environment variable the service reads, with its default and meaning. */
export const configSchema = z.object({
  /** TCP port of the HTTP API; 0 picks a free one. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Address the HTTP API binds to. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Redis holding the job queue. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /**
   * Prefix of every queue key in Redis; lets several deployments share one Redis. The braces
   * are a Redis Cluster hash tag: every key of the queue lands in one slot, as BullMQ's
   * multi-key scripts need.
   */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_{}-]+$/).default('{glassbox}'),
  /** Folder holding uploaded models and job results, shared by API and workers. */
  STORE_DIR: z.string().min(1).default('data'),
  /** Jobs one worker process runs at the same time. */
  WORKER_CONCURRENCY: positiveInt(1),
  /** TensorFlow.js backend: auto tries node-gpu, node, wasm and cpu in that order. */
  TFJS_BACKEND: z.enum(TFJS_BACKENDS).default('auto'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted upload file (model.json or one weight file), in bytes. */
  MAX_UPLOAD_BYTES: positiveInt(256 * 1024 * 1024),
  /** Largest multipart upload in total (model.json, weights and metadata together), in bytes. */
  MAX_UPLOAD_TOTAL_BYTES: positiveInt(1024 * 1024 * 1024),
  /** Time an upload's load and first run in TensorFlow.js may take before it is refused. */
  MODEL_LOAD_TIMEOUT_MS: positiveInt(60_000),
  /** Most instances one explanation request may carry. */
  MAX_INSTANCES: positiveInt(1000),
  /** Most background rows one explanation request may carry. */
  MAX_BACKGROUND_ROWS: positiveInt(5000),
  /** Largest `nsamples` a KernelSHAP request may ask for. */
  MAX_NSAMPLES: positiveInt(200_000),
  /** Most model evaluations (rows) one job may need; larger requests get a 400. */
  MAX_JOB_ROWS: positiveInt(1_000_000_000),
  /** Most features `exact_shap` accepts; it evaluates 2^M coalitions per instance. */
  EXACT_SHAP_MAX_FEATURES: z.coerce.number().int().min(1).max(30).default(16),
  /** Rows handed to the model in one predict call. */
  BATCH_ROWS: positiveInt(65_536),
  /** Largest JSON request body, in bytes. */
  MAX_BODY_BYTES: positiveInt(64 * 1024 * 1024),
  /** On SIGTERM a worker waits this long for running jobs, then hands them back to the queue. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Most samples one activation-statistics request may carry. */
  MAX_ACTIVATION_SAMPLES: positiveInt(100_000),
  /** Most activation values (all reported tensors) one activation-statistics batch holds. */
  ACTIVATION_BATCH_VALUES: positiveInt(16 * 1024 * 1024),
  /** API keys as comma-separated `tenant:key` pairs; a key is 16+ characters. */
  API_KEYS: z.string().optional(),
  /** A file of `tenant:key` lines (blank lines and `#` comments skipped), read at start-up. */
  API_KEYS_FILE: z.string().optional(),
  /** Set to `true` to run without API keys on a non-loopback HOST on purpose. */
  AUTH_DISABLED: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Requests one API key (or, running open, one client address) may make per window. */
  RATE_LIMIT_MAX: positiveInt(600),
  /** Length of the rate-limit window, in milliseconds. */
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  /** Origins allowed to call the API from a browser, comma-separated; `*` for any; empty: none. */
  CORS_ORIGINS: z.string().default(''),
  /** Most features (values in one input row) a model may have to be explained. */
  MAX_FEATURES: positiveInt(262_144),
  /** Most histogram bins one request may ask for. */
  MAX_HISTOGRAM_BINS: positiveInt(1000),
  /** A worker's lock on a job, renewed while it runs; another worker takes over after it. */
  JOB_LOCK_DURATION_MS: positiveInt(30_000),
  /** How often workers look for jobs whose lock has expired (a worker died mid-job). */
  JOB_STALLED_INTERVAL_MS: positiveInt(30_000),
  /** Times a job may be taken over from a dead worker before it is failed. */
  JOB_MAX_STALLED: positiveInt(2),
  /** Times a job is tried before it is marked failed. */
  JOB_ATTEMPTS: positiveInt(3),
  /** Time one attempt of a job may run; past it the job fails, without retry. */
  JOB_TIMEOUT_MS: positiveInt(3_600_000),
  /** Completed and failed jobs, and their results, are removed after this many seconds. */
  JOB_RETENTION_SECONDS: positiveInt(7 * 24 * 3600),
  /** Most completed (and, separately, failed) jobs kept; the oldest go first. */
  JOB_RETENTION_COUNT: positiveInt(100_000),
  /** How often a worker removes the stored results of jobs no longer in the queue. */
  RESULT_SWEEP_INTERVAL_MS: positiveInt(60_000),
  /** Deepest field nesting a GraphQL operation may have (fragments add no depth). */
  GRAPHQL_MAX_DEPTH: positiveInt(8),
  /** Highest cost a GraphQL operation may have (1 per field, page sizes multiply). */
  GRAPHQL_MAX_COST: positiveInt(5000),
  /** Serve the GraphiQL page at /graphiql; meant for development. */
  GRAPHIQL: z.stringbool().default(false),
  /** Run explanations in worker threads (one per concurrency slot) instead of the main thread. */
  COMPUTE_THREADS: z.enum(['on', 'off']).default('on'),
  /** Bytes of model weights one compute thread keeps loaded; least recently used go first. */
  MODEL_CACHE_BYTES: positiveInt(512 * 1024 * 1024),
  /** Instances per child job when a request is split; requests this size or smaller are not. */
  CHUNK_INSTANCES: positiveInt(16),
  /** `on`: REDIS_URL names one node of a Redis Cluster, and the client follows the cluster. */
  REDIS_CLUSTER: z.enum(['on', 'off']).default('off'),
  /** Port of a worker process's own health and metrics server (on HOST); 0 picks a free one. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** Key that opens the queue dashboard at /admin/queues; without it the dashboard is off. */
  ADMIN_API_KEY: z.string().min(16).optional(),
});

/** Variables whose values never appear in messages or logs. */
const SECRET_KEYS = new Set<PropertyKey>(['API_KEYS', 'ADMIN_API_KEY']);

function shownValue(picked: Record<string, unknown>, key: PropertyKey | undefined): string {
  if (key !== undefined && SECRET_KEYS.has(key)) return '[redacted]';
  return JSON.stringify(picked[String(key)]);
}

export type Config = Readonly<z.infer<typeof configSchema>> & { readonly storeDir: string };

/** Raised when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment into a frozen configuration.
 * @param env - the variables to read; `process.env` in the processes.
 * @throws ConfigError listing every bad variable, not only the first.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(configSchema.shape);
  const picked = Object.fromEntries(
    known.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]]),
  );
  const parsed = configSchema
    .refine((c) => c.REDIS_CLUSTER === 'off' || /\{[^{}]+\}/.test(c.QUEUE_PREFIX), {
      path: ['QUEUE_PREFIX'],
      message: 'on a Redis Cluster the prefix needs a hash tag in braces, such as {glassbox}',
    })
    .safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `${issue.path.join('.')}: ${issue.message} (got ${shownValue(picked, issue.path[0])})`,
    );
    throw new ConfigError(problems);
  }
  return Object.freeze({ ...parsed.data, storeDir: path.resolve(parsed.data.STORE_DIR) });
}
