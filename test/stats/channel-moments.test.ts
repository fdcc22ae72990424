// Pure statistics: channel moments, histograms and the BN drift formula, against hand values.
import { describe, expect, it } from 'vitest';
import { batchNormDrift, VARIANCE_FLOOR } from '../../src/stats/batch-norm-drift.js';
import { ChannelMoments, channelLayout } from '../../src/stats/channel-moments.js';
import { Histogram } from '../../src/stats/histogram.js';

describe('ChannelMoments', () => {
  it('finds channels on any axis of a row-major tensor', () => {
    // Two samples of shape [2 channels, 3 positions]; channel axis 0.
    const moments = new ChannelMoments(channelLayout([2, 3], 0));
    moments.add([1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60]);
    const s = moments.summary();
    expect(s.mean).toEqual([3.5, 35]);
    expect(s.min).toEqual([1, 10]);
    expect(s.max).toEqual([6, 60]);
    expect(s.variance[0]).toBeCloseTo(35 / 12, 12); // population variance of 1..6
  });

  it('merges batches without the cancellation of a naive sum of squares', () => {
    // Values 1e9 + {0, 1, 2, 3}: variance 1.25, lost entirely by E[x^2] - E[x]^2 in float64.
    const moments = new ChannelMoments(channelLayout([1], -1));
    for (const batch of [[1e9, 1e9 + 1], [1e9 + 2], [1e9 + 3]]) moments.add(batch);
    expect(moments.summary().variance[0]).toBeCloseTo(1.25, 9);
    expect(moments.summary().mean[0]).toBe(1e9 + 1.5);
  });

  it('counts zeros and non-finite values, keeping the latter out of the moments', () => {
    const moments = new ChannelMoments(channelLayout([2], -1));
    moments.add([0, NaN, 0, Infinity, 4, -Infinity, 2, 1]);
    const s = moments.summary();
    expect(s.zeroFraction).toEqual([0.5, 0]);
    expect(s.nonFiniteFraction).toEqual([0, 0.75]);
    expect(s.mean).toEqual([1.5, 1]);
    expect(s.max).toEqual([4, 1]);
    expect(moments.range()).toEqual({ min: 0, max: 4 });
  });

  it('gives null moments to a channel with no finite value', () => {
    const moments = new ChannelMoments(channelLayout([1], -1));
    moments.add([NaN, NaN]);
    expect(moments.summary()).toMatchObject({ mean: [null], std: [null], nonFiniteFraction: [1] });
    expect(moments.range()).toBeNull();
  });

  it('rejects a batch that is not whole samples', () => {
    expect(() => new ChannelMoments(channelLayout([3], -1)).add([1, 2])).toThrow(/whole samples/);
  });
});

describe('Histogram', () => {
  it('puts the maximum in the last bin and counts every value once', () => {
    const h = new Histogram(4, 0, 8);
    h.add([0, 1.99, 2, 5, 8, 8, NaN]);
    expect(h.summary()).toEqual({ edges: [0, 2, 4, 6, 8], counts: [2, 1, 1, 2] });
  });

  it('widens a range of one value so that it has a bin', () => {
    const h = new Histogram(2, 3, 3);
    h.add([3, 3]);
    expect(h.summary()).toEqual({ edges: [2.5, 3, 3.5], counts: [0, 2] });
  });
});

describe('batchNormDrift', () => {
  const params = {
    axis: -1,
    epsilon: 0.001,
    gamma: null,
    beta: null,
    movingMean: [1, 0, 5],
    movingVariance: [3.999, 0, 1],
  };

  it('computes shift and variance ratio per channel', () => {
    const drift = batchNormDrift(params, [3, 0.1, 5], [8, 0.002, 1.001], 2);
    expect(drift.shift[0]).toBeCloseTo(1, 12); // (3 - 1) / sqrt(4)
    expect(drift.shift[1]).toBeCloseTo(0.1 / Math.sqrt(0.001), 12);
    expect(drift.varianceRatio[0]).toBeCloseTo(2, 12);
    expect(drift.varianceRatio[1]).toBeCloseTo(2, 12);
    expect(drift.summary).toMatchObject({
      channelsOverThreshold: 1,
      maxShiftChannel: 1,
      drifted: true,
      flooredChannels: 0,
    });
    expect(drift.summary.meanAbsShift).toBeCloseTo((1 + 0.1 / Math.sqrt(0.001) + 0) / 3, 12);
  });

  it('stays finite when moving variance plus epsilon is 0 or negative', () => {
    const drift = batchNormDrift(
      { ...params, epsilon: 0, movingVariance: [0, -1e-6, 1] },
      [2, 0, 5],
      [1, 0, 1],
      2,
    );
    expect(drift.shift.every((s) => s !== null && Number.isFinite(s))).toBe(true);
    expect(drift.shift[0]).toBeCloseTo(1 / Math.sqrt(VARIANCE_FLOOR), 0);
    expect(drift.summary.flooredChannels).toBe(2);
  });
});
