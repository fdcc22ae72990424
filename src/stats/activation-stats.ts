// Activation statistics over a stream of samples: per-layer channel moments, histograms, BN drift.
import { batchNormDrift, type BatchNormDrift, type BatchNormParams } from './batch-norm-drift.js';
import { ChannelMoments, channelLayout } from './channel-moments.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import type { ActivationProbe, TapRole } from './probe.js';

export interface ActivationStatsOptions {
  /** Values in one sample (the product of the input's non-batch dims). */
  rowSize: number;
  sampleCount: number;
  /** Writes samples `[start, start + count)` flat into `into` (length `count * rowSize`). */
  readRows(start: number, count: number, into: Float32Array): void;
  /** Bins of each layer's histogram; 0 skips histograms and the second pass. */
  histogramBins: number;
  /** Absolute standardized shift above which a BN channel counts as drifted. */
  driftThreshold: number;
  /** Most activation values (over all tapped tensors) held for one batch. */
  batchValueBudget: number;
  /** Most samples in one batch. */
  maxBatchRows: number;
  onProgress?: (fraction: number) => void | Promise<void>;
}

export interface LayerStatistics {
  name: string;
  className: string;
  outputShape: unknown;
  /** The per-sample shape seen, batch axis null. */
  observedShape: (number | null)[];
  /** Channels are the last axis of the output. */
  channels: number;
  mean: (number | null)[];
  std: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  zeroFraction: number[];
  nonFiniteFraction: number[];
  /** Of every finite value of the output; null when histograms are off or none was finite. */
  histogram: HistogramSummary | null;
  batchNorm?: BatchNormParams & BatchNormDrift;
}

export interface ActivationStatsResult {
  sampleCount: number;
  batchRows: number;
  /** Passes over the samples: 2 with histograms (the first finds each layer's range). */
  passes: number;
  histogramBins: number;
  driftThreshold: number;
  layers: LayerStatistics[];
  batchNormSummary: { layers: number; drifted: string[] };
  notes: string[];
}

interface TapState {
  moments: ChannelMoments;
  dims: number[];
  histogram?: Histogram;
}

/**
 * Streams the samples through the probe in batches and reduces every tapped tensor as it comes,
 * so memory is one batch of activations plus a few numbers per channel.
 *
 * Pass 1 merges per-batch channel moments (see `ChannelMoments`) and finds each layer's range;
 * pass 2, only when histograms are asked for, runs the same samples again and counts values into
 * bins over that exact range. Inference is deterministic, so both passes see the same values.
 * The batch size is measured, not guessed: the first batch holds one sample, and the rest are
 * sized so that all tapped tensors of a batch stay within `batchValueBudget` values.
 * @throws Error when a tensor's shape changes between batches.
 */
export async function computeActivationStats(
  probe: ActivationProbe,
  options: ActivationStatsOptions,
): Promise<ActivationStatsResult> {
  const states = new Map<string, TapState>();
  const key = (target: number, role: TapRole) => `${target}:${role}`;
  const passes = options.histogramBins > 0 ? 2 : 1;
  let batchRows = 1;

  const pass1 = await streamBatches(probe, options, 1, 0, passes, (target, role, values, dims) => {
    let state = states.get(key(target, role));
    if (!state) {
      const axis = role === 'batchNormInput' ? (probe.targets[target].batchNorm?.axis ?? -1) : -1;
      state = { moments: new ChannelMoments(channelLayout(dims, axis)), dims };
      states.set(key(target, role), state);
    }
    checkDims(probe.targets[target].name, state.dims, dims);
    state.moments.add(values);
  });
  batchRows = pass1.batchRows;

  if (passes === 2) {
    for (const [k, state] of states) {
      const range = state.moments.range();
      if (k.endsWith(':output') && range) {
        state.histogram = new Histogram(options.histogramBins, range.min, range.max);
      }
    }
    await streamBatches(probe, options, batchRows, 1, passes, (target, role, values) => {
      if (role === 'output') states.get(key(target, role))?.histogram?.add(values);
    });
  }

  const layers: LayerStatistics[] = [];
  const skipped: string[] = [];
  probe.targets.forEach((target, t) => {
    const output = states.get(key(t, 'output'));
    if (!output) skipped.push(target.name);
    else
      layers.push(layerStatistics(target, output, states.get(key(t, 'batchNormInput')), options));
  });
  const notes = [...probe.notes];
  if (skipped.length > 0) {
    notes.push(`outputs without a batch axis, not reported: ${skipped.join(', ')}`);
  }
  const withBatchNorm = layers.filter((l) => l.batchNorm);

  return {
    sampleCount: options.sampleCount,
    batchRows,
    passes,
    histogramBins: options.histogramBins,
    driftThreshold: options.driftThreshold,
    layers,
    batchNormSummary: {
      layers: withBatchNorm.length,
      drifted: withBatchNorm.filter((l) => l.batchNorm?.summary.drifted).map((l) => l.name),
    },
    notes,
  };
}

/**
 * Runs every sample through the probe once. With `firstBatchRows` 1 the first batch measures
 * the values per sample and later batches are sized from it.
 */
async function streamBatches(
  probe: ActivationProbe,
  options: ActivationStatsOptions,
  firstBatchRows: number,
  passIndex: number,
  passes: number,
  visit: Parameters<ActivationProbe['run']>[2],
): Promise<{ batchRows: number }> {
  let batchRows = firstBatchRows;
  let start = 0;
  while (start < options.sampleCount) {
    const count = Math.min(batchRows, options.sampleCount - start);
    const rows = new Float32Array(count * options.rowSize);
    options.readRows(start, count, rows);
    let valuesSeen = 0;
    await probe.run(rows, count, (target, role, values, dims) => {
      valuesSeen += values.length;
      visit(target, role, values, dims);
    });
    if (start === 0 && passIndex === 0) {
      const perSample = Math.max(1, valuesSeen / count);
      batchRows = Math.max(
        1,
        Math.min(options.maxBatchRows, Math.floor(options.batchValueBudget / perSample)),
      );
    }
    start += count;
    await options.onProgress?.((passIndex + start / options.sampleCount) / passes);
  }

  return { batchRows };
}

function checkDims(name: string, expected: number[], got: number[]): void {
  if (expected.length !== got.length || expected.some((d, i) => d !== got[i])) {
    throw new Error(
      `${name}: per-sample shape changed from [${expected}] to [${got}] between batches`,
    );
  }
}

function layerStatistics(
  target: ActivationProbe['targets'][number],
  output: TapState,
  batchNormInput: TapState | undefined,
  options: ActivationStatsOptions,
): LayerStatistics {
  const summary = output.moments.summary();
  const stats: LayerStatistics = {
    name: target.name,
    className: target.className,
    outputShape: target.declaredShape,
    observedShape: [null, ...output.dims],
    channels: output.moments.channels,
    mean: summary.mean,
    std: summary.std,
    min: summary.min,
    max: summary.max,
    zeroFraction: summary.zeroFraction,
    nonFiniteFraction: summary.nonFiniteFraction,
    histogram: output.histogram?.summary() ?? null,
  };
  if (target.batchNorm && batchNormInput) {
    const input = batchNormInput.moments.summary();
    const drift = batchNormDrift(
      target.batchNorm,
      input.mean,
      input.variance,
      options.driftThreshold,
    );
    stats.batchNorm = { ...target.batchNorm, ...drift };
  }

  return stats;
}
