// Per-channel running statistics of a stream of tensors, merged batch by batch; no TensorFlow.js.

/**
 * Where the channels of a flat, row-major tensor lie: `dims` is the shape without the batch axis
 * and `axis` indexes into it (the channel axis). A value at flat offset `i` belongs to channel
 * `floor(i / inner) % channels`, where `inner` is the product of the dims after the axis.
 */
export interface ChannelLayout {
  channels: number;
  inner: number;
}

/**
 * The layout of a tensor of per-sample shape `dims` with channels on `axis` (negative counts from
 * the end). A tensor with no axes besides the batch has one channel.
 * @throws Error when the axis lies outside the shape.
 */
export function channelLayout(dims: readonly number[], axis: number): ChannelLayout {
  if (dims.length === 0) return { channels: 1, inner: 1 };
  const at = axis < 0 ? dims.length + axis : axis;
  if (at < 0 || at >= dims.length) {
    throw new Error(`channel axis ${axis} is outside a per-sample shape [${dims.join(', ')}]`);
  }
  const inner = dims.slice(at + 1).reduce((a, b) => a * b, 1);
  return { channels: dims[at], inner };
}

/** Final per-channel statistics; population moments (divided by n) over the finite values. */
export interface ChannelSummary {
  /** Values seen per channel, finite or not. */
  count: number[];
  mean: (number | null)[];
  variance: (number | null)[];
  std: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  zeroFraction: number[];
  nonFiniteFraction: number[];
}

/**
 * Running count, mean and sum of squared deviations (M2) per channel, with min, max, exact zeros
 * and non-finite values. Each batch is reduced on its own by two passes (mean, then squared
 * deviations from that mean) and merged into the running totals with the parallel update of
 * Chan, Golub and LeVeque (1979):
 * `n = na + nb`, `delta = meanB - meanA`, `mean = meanA + delta * nb / n`,
 * `M2 = M2a + M2b + delta^2 * na * nb / n`.
 * Accumulation is in float64 and memory is a few numbers per channel, whatever the sample count.
 * Non-finite values (NaN, +-Infinity) are counted but left out of the moments, min and max.
 */
export class ChannelMoments {
  readonly channels: number;
  private readonly n: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly minimum: Float64Array;
  private readonly maximum: Float64Array;
  private readonly zeros: Float64Array;
  private readonly nonFinite: Float64Array;
  private readonly seen: Float64Array;

  constructor(private readonly layout: ChannelLayout) {
    const c = layout.channels;
    this.channels = c;
    this.n = new Float64Array(c);
    this.mean = new Float64Array(c);
    this.m2 = new Float64Array(c);
    this.minimum = new Float64Array(c).fill(Infinity);
    this.maximum = new Float64Array(c).fill(-Infinity);
    this.zeros = new Float64Array(c);
    this.nonFinite = new Float64Array(c);
    this.seen = new Float64Array(c);
  }

  /**
   * Adds one batch of values, flat and row-major; its length must be a whole number of samples.
   * @throws Error when the length does not fit the layout.
   */
  add(values: ArrayLike<number>): void {
    const { channels, inner } = this.layout;
    const block = channels * inner;
    if (values.length % block !== 0) {
      throw new Error(`${values.length} values are not whole samples of ${block} values`);
    }
    const batch = batchMoments(values, channels, inner);
    for (let c = 0; c < channels; c++) {
      this.seen[c] += batch.seen[c];
      this.zeros[c] += batch.zeros[c];
      this.nonFinite[c] += batch.seen[c] - batch.n[c];
      if (batch.n[c] === 0) continue;
      this.minimum[c] = Math.min(this.minimum[c], batch.min[c]);
      this.maximum[c] = Math.max(this.maximum[c], batch.max[c]);
      const na = this.n[c];
      const nb = batch.n[c];
      const total = na + nb;
      const delta = batch.mean[c] - this.mean[c];
      this.mean[c] += (delta * nb) / total;
      this.m2[c] += batch.m2[c] + (delta * delta * na * nb) / total;
      this.n[c] = total;
    }
  }

  /** The smallest and largest finite value over every channel; null when none was finite. */
  range(): { min: number; max: number } | null {
    let min = Infinity;
    let max = -Infinity;
    for (let c = 0; c < this.channels; c++) {
      min = Math.min(min, this.minimum[c]);
      max = Math.max(max, this.maximum[c]);
    }
    return min <= max ? { min, max } : null;
  }

  /** The statistics so far; channels without a finite value get null moments. */
  summary(): ChannelSummary {
    const out: ChannelSummary = {
      count: [],
      mean: [],
      variance: [],
      std: [],
      min: [],
      max: [],
      zeroFraction: [],
      nonFiniteFraction: [],
    };
    for (let c = 0; c < this.channels; c++) {
      const finite = this.n[c] > 0;
      const variance = finite ? Math.max(0, this.m2[c] / this.n[c]) : null;
      out.count.push(this.seen[c]);
      out.mean.push(finite ? this.mean[c] : null);
      out.variance.push(variance);
      out.std.push(variance === null ? null : Math.sqrt(variance));
      out.min.push(finite ? this.minimum[c] : null);
      out.max.push(finite ? this.maximum[c] : null);
      out.zeroFraction.push(this.seen[c] > 0 ? this.zeros[c] / this.seen[c] : 0);
      out.nonFiniteFraction.push(this.seen[c] > 0 ? this.nonFinite[c] / this.seen[c] : 0);
    }
    return out;
  }
}

interface BatchMoments {
  seen: Float64Array;
  n: Float64Array;
  mean: Float64Array;
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
  zeros: Float64Array;
}

/** One batch reduced per channel: a pass for count, sum, extremes, a second for M2. */
function batchMoments(values: ArrayLike<number>, channels: number, inner: number): BatchMoments {
  const seen = new Float64Array(channels);
  const n = new Float64Array(channels);
  const sum = new Float64Array(channels);
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  const zeros = new Float64Array(channels);
  forEachValue(values, channels, inner, (c, v) => {
    seen[c]++;
    if (v === 0) zeros[c]++;
    if (!Number.isFinite(v)) return;
    n[c]++;
    sum[c] += v;
    if (v < min[c]) min[c] = v;
    if (v > max[c]) max[c] = v;
  });
  const mean = new Float64Array(channels);
  for (let c = 0; c < channels; c++) mean[c] = n[c] > 0 ? sum[c] / n[c] : 0;
  const m2 = new Float64Array(channels);
  forEachValue(values, channels, inner, (c, v) => {
    if (!Number.isFinite(v)) return;
    const d = v - mean[c];
    m2[c] += d * d;
  });

  return { seen, n, mean, m2, min, max, zeros };
}

/** Calls `visit(channel, value)` for every value, walking the layout without divisions. */
function forEachValue(
  values: ArrayLike<number>,
  channels: number,
  inner: number,
  visit: (channel: number, value: number) => void,
): void {
  const block = channels * inner;
  for (let base = 0; base < values.length; base += block) {
    let i = base;
    for (let c = 0; c < channels; c++) {
      for (let j = 0; j < inner; j++) visit(c, values[i++]);
    }
  }
}
