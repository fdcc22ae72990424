// Batch-normalization drift: how far the inputs a BN layer sees sit from its moving statistics.

/** What a BatchNormalization layer learned; gamma and beta are null when scale or center is off. */
export interface BatchNormParams {
  axis: number;
  epsilon: number;
  gamma: number[] | null;
  beta: number[] | null;
  movingMean: number[];
  movingVariance: number[];
}

/** Drift of one BN layer over the samples. */
export interface BatchNormDrift {
  inputMean: (number | null)[];
  inputVariance: (number | null)[];
  /** `(inputMean - movingMean) / sqrt(movingVariance + epsilon)` per channel. */
  shift: (number | null)[];
  /** `inputVariance / (movingVariance + epsilon)` per channel. */
  varianceRatio: (number | null)[];
  summary: DriftSummary;
}

export interface DriftSummary {
  meanAbsShift: number | null;
  maxAbsShift: number | null;
  /** Channel of the largest absolute shift. */
  maxShiftChannel: number | null;
  threshold: number;
  /** Channels whose absolute shift exceeds the threshold. */
  channelsOverThreshold: number;
  /** True when at least one channel exceeds the threshold. */
  drifted: boolean;
  minVarianceRatio: number | null;
  maxVarianceRatio: number | null;
  /** Channels whose `movingVariance + epsilon` was below the floor and was raised to it. */
  flooredChannels: number;
}

/**
 * Smallest denominator variance used. A moving variance of 0 (quantized models have them) plus a
 * positive epsilon never reaches it; it guards layers saved with epsilon 0 or a moving variance
 * rounded below `-epsilon`, whose shift would otherwise be infinite or NaN.
 */
export const VARIANCE_FLOOR = 1e-12;

/**
 * Compares the per-channel mean and variance of a BN layer's input with its moving statistics.
 * @param params - the layer's weights and epsilon.
 * @param inputMean - per channel mean of the layer's input over the samples (null: none finite).
 * @param inputVariance - per channel population variance of the same values.
 * @param threshold - absolute shift above which a channel counts as drifted.
 * @returns per-channel shift and variance ratio, with a summary; all numbers finite or null.
 * @throws Error when the channel counts disagree.
 */
export function batchNormDrift(
  params: BatchNormParams,
  inputMean: (number | null)[],
  inputVariance: (number | null)[],
  threshold: number,
): BatchNormDrift {
  const channels = params.movingMean.length;
  if (inputMean.length !== channels || inputVariance.length !== channels) {
    throw new Error(
      `BN layer has ${channels} channels but the input statistics have ` +
        `${inputMean.length} means and ${inputVariance.length} variances`,
    );
  }
  let flooredChannels = 0;
  const shift: (number | null)[] = [];
  const varianceRatio: (number | null)[] = [];
  for (let c = 0; c < channels; c++) {
    let denominator = params.movingVariance[c] + params.epsilon;
    if (!(denominator >= VARIANCE_FLOOR)) {
      denominator = VARIANCE_FLOOR;
      flooredChannels++;
    }
    const mean = inputMean[c];
    const variance = inputVariance[c];
    shift.push(
      mean === null ? null : finiteOrNull((mean - params.movingMean[c]) / Math.sqrt(denominator)),
    );
    varianceRatio.push(variance === null ? null : finiteOrNull(variance / denominator));
  }

  return {
    inputMean,
    inputVariance,
    shift,
    varianceRatio,
    summary: summarize(shift, varianceRatio, threshold, flooredChannels),
  };
}

function summarize(
  shift: (number | null)[],
  varianceRatio: (number | null)[],
  threshold: number,
  flooredChannels: number,
): DriftSummary {
  let sumAbs = 0;
  let counted = 0;
  let maxAbsShift: number | null = null;
  let maxShiftChannel: number | null = null;
  let channelsOverThreshold = 0;
  shift.forEach((s, c) => {
    if (s === null) return;
    const abs = Math.abs(s);
    sumAbs += abs;
    counted++;
    if (maxAbsShift === null || abs > maxAbsShift) {
      maxAbsShift = abs;
      maxShiftChannel = c;
    }
    if (abs > threshold) channelsOverThreshold++;
  });
  const ratios = varianceRatio.filter((r): r is number => r !== null);

  return {
    meanAbsShift: counted > 0 ? sumAbs / counted : null,
    maxAbsShift,
    maxShiftChannel,
    threshold,
    channelsOverThreshold,
    drifted: channelsOverThreshold > 0,
    minVarianceRatio: ratios.length > 0 ? Math.min(...ratios) : null,
    maxVarianceRatio: ratios.length > 0 ? Math.max(...ratios) : null,
    flooredChannels,
  };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
