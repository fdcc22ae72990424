// Link functions: the space in which explanations add up.

export type LinkName = 'identity' | 'logit';

/**
 * Probabilities are clipped to [LOGIT_EPSILON, 1 - LOGIT_EPSILON] in float64 before the logit,
 * so a saturated float32 output (exactly 0 or 1) maps to a large finite log-odds.
 */
export const LOGIT_EPSILON = 1e-7;

/** Applies a link to one model output. */
export function applyLink(link: LinkName, value: number): number {
  if (link === 'identity') return value;
  const p = Math.min(Math.max(value, LOGIT_EPSILON), 1 - LOGIT_EPSILON);
  return Math.log(p / (1 - p));
}

/** True when a logit had to clip this output. */
export function isClipped(link: LinkName, value: number): boolean {
  return link === 'logit' && (value < LOGIT_EPSILON || value > 1 - LOGIT_EPSILON);
}

/**
 * One warning per instance and output whose model output a logit link had to clip.
 * @param outputs - link-space outputs, [instance][output].
 * @param firstInstance - index in the whole request of `outputs[0]`, for a chunk of it.
 */
export function clippingWarnings(
  link: LinkName,
  outputs: number[][],
  outputNames: string[],
  firstInstance = 0,
): string[] {
  if (link !== 'logit') return [];
  const bound = Math.log((1 - LOGIT_EPSILON) / LOGIT_EPSILON) - 1e-9;
  const warnings: string[] = [];
  outputs.forEach((row, i) =>
    row.forEach((value, k) => {
      if (Math.abs(value) < bound) return;
      warnings.push(
        `instance ${firstInstance + i}, output ${outputNames[k] ?? k}: probability clipped to ` +
          `[${LOGIT_EPSILON}, 1 - ${LOGIT_EPSILON}] before the logit`,
      );
    }),
  );
  return warnings;
}
