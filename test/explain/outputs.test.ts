import { describe, expect, it } from 'vitest';
import { pickFeatureOutputs, pickOutputs, selectOutputIndices } from '../../src/explain/outputs.js';

const outputs = [
  [0.1, 0.7, 0.2],
  [0.6, 0.3, 0.1],
];

describe('output selection', () => {
  it('keeps every output for all', () => {
    expect(selectOutputIndices('all', outputs, 3)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });

  it('keeps the largest output of each instance for top', () => {
    const indices = selectOutputIndices('top', outputs, 3);
    expect(indices).toEqual([[1], [0]]);
    expect(pickOutputs(outputs, indices)).toEqual([[0.7], [0.6]]);
  });

  it('keeps the named outputs in the order given, with the output axis kept', () => {
    const indices = selectOutputIndices([2, 0], outputs, 3);
    const values = [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ];
    expect(pickFeatureOutputs(values, indices)).toEqual([
      [
        [3, 1],
        [6, 4],
      ],
      [
        [9, 7],
        [12, 10],
      ],
    ]);
  });
});
