// What an activation probe is: named tensors inside a model, fetched for one batch of inputs.
import type { BatchNormParams } from './batch-norm-drift.js';

/** One tensor the probe reports: a layer's (or graph node's) output. */
export interface ProbeTarget {
  /** Full path: layers inside nested models are `outer/inner`. */
  name: string;
  /** Layer class (`Dense`, `BatchNormalization`) or graph op (`Conv2D`, `Relu`). */
  className: string;
  /** The shape the model declares, batch axis null; null when the model does not declare one. */
  declaredShape: unknown;
  /** Set for batch-normalization layers and nodes: their weights. */
  batchNorm?: BatchNormParams;
}

/** Which tensor of a target a value batch belongs to. */
export type TapRole = 'output' | 'batchNormInput';

/**
 * Receives the values of one tapped tensor for one batch, flat and row-major, with its
 * per-sample shape (batch axis dropped). Called synchronously; it must not keep `values`.
 */
export type TapVisitor = (
  target: number,
  role: TapRole,
  values: Float32Array,
  dims: number[],
) => void;

export interface ActivationProbe {
  targets: ProbeTarget[];
  /** Facts about the model the statistics cannot show (folded batch normalization, say). */
  notes: string[];
  /**
   * Runs the model in inference mode on one batch and hands every tapped tensor to `visit`.
   * Every tensor it creates is disposed before it returns, also when it throws.
   */
  run(input: Float32Array, rowCount: number, visit: TapVisitor): Promise<void>;
}
