// A fixed-range histogram filled batch by batch; the range must be known before the first value.

/** Bin edges (`bins + 1` of them, ascending) and the count of values in each bin. */
export interface HistogramSummary {
  edges: number[];
  counts: number[];
}

/**
 * Counts finite values into `bins` equal-width bins over `[min, max]`; every bin is half-open
 * `[edge_k, edge_k+1)` except the last, which also holds `max`. Values outside the range are not
 * counted (with the range taken from a full first pass over the same values, there are none).
 * When `min == max` the range is widened to `[min - 0.5, min + 0.5]` so that bins have a width.
 * Non-finite values are skipped; callers report them separately.
 */
export class Histogram {
  private readonly counts: Float64Array;
  private readonly low: number;
  private readonly high: number;
  private readonly width: number;

  /**
   * @param bins - number of bins, at least 1.
   * @param min - lower edge, finite.
   * @param max - upper edge, finite and `>= min`.
   * @throws Error when the bins or the range are not usable.
   */
  constructor(
    private readonly bins: number,
    min: number,
    max: number,
  ) {
    if (!Number.isInteger(bins) || bins < 1)
      throw new Error(`bins must be a positive integer, got ${bins}`);
    if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
      throw new Error(`histogram range [${min}, ${max}] is not a finite interval`);
    }
    this.low = min === max ? min - 0.5 : min;
    this.high = min === max ? max + 0.5 : max;
    this.width = (this.high - this.low) / bins;
    this.counts = new Float64Array(bins);
  }

  add(values: ArrayLike<number>): void {
    const last = this.bins - 1;
    const high = this.high;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= this.low && v <= high)) continue;
      const bin = Math.floor((v - this.low) / this.width);
      this.counts[bin > last ? last : bin]++;
    }
  }

  summary(): HistogramSummary {
    const edges = Array.from({ length: this.bins + 1 }, (_, k) =>
      k === this.bins ? this.high : this.low + k * this.width,
    );
    return { edges, counts: Array.from(this.counts) };
  }
}
