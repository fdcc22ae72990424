// Choosing which model outputs an explanation reports: all of them, the top one per instance,
// or a fixed list. The output axis stays in the result even when it holds one output.

/** `all`, `top` (the largest output of each instance) or explicit output indices. */
export type OutputSelection = 'all' | 'top' | number[];

/**
 * The model output indices each instance reports, [instance][j].
 * @param outputs - the model outputs per instance, [instance][output]; any monotone link.
 * @param outputCount - outputs of the model.
 */
export function selectOutputIndices(
  selection: OutputSelection,
  outputs: number[][],
  outputCount: number,
): number[][] {
  if (selection === 'all') {
    const every = Array.from({ length: outputCount }, (_, o) => o);
    return outputs.map(() => every);
  }
  if (selection === 'top') return outputs.map((row) => [argmax(row)]);
  return outputs.map(() => selection);
}

/** Keeps, per instance, the entries of the last axis named by `indices[instance]`. */
export function pickOutputs(perInstance: number[][], indices: number[][]): number[][] {
  return perInstance.map((row, i) => indices[i].map((o) => row[o]));
}

/** The same for [instance][feature][output] arrays. */
export function pickFeatureOutputs(perInstance: number[][][], indices: number[][]): number[][][] {
  return perInstance.map((rows, i) => rows.map((row) => indices[i].map((o) => row[o])));
}

function argmax(row: number[]): number {
  let best = 0;
  for (let o = 1; o < row.length; o++) if (row[o] > row[best]) best = o;
  return best;
}
