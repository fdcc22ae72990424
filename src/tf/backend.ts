// Picks the TensorFlow.js backend a process computes on.
import * as tf from '@tensorflow/tfjs';
import type { TfjsBackendChoice } from '../config/index.js';

type ConcreteBackend = Exclude<TfjsBackendChoice, 'auto'>;

const AUTO_ORDER: ConcreteBackend[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** What a backend choice led to: the backend in use and why others were passed over. */
export interface BackendSelection {
  backend: string;
  tried: { choice: ConcreteBackend; error: string }[];
}

async function activate(choice: ConcreteBackend): Promise<void> {
  // The native packages are optional dependencies: import them by a computed name so that
  // neither the compiler nor the bundler insists on their presence.
  const nativePackage: Partial<Record<ConcreteBackend, string>> = {
    'node-gpu': '@tensorflow/tfjs-node-gpu',
    node: '@tensorflow/tfjs-node',
  };
  const packageName = nativePackage[choice];
  if (packageName) {
    await import(packageName);
    if (!(await tf.setBackend('tensorflow'))) throw new Error(`${packageName} did not initialize`);
    return;
  }
  if (choice === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(choice))) throw new Error(`backend ${choice} did not initialize`);
}

/**
 * Activates the configured backend; `auto` takes the first that loads.
 * @throws Error when the named backend (or, for auto, every backend) fails to load.
 */
export async function selectBackend(choice: TfjsBackendChoice): Promise<BackendSelection> {
  const candidates = choice === 'auto' ? AUTO_ORDER : [choice];
  const tried: BackendSelection['tried'] = [];
  for (const candidate of candidates) {
    try {
      await activate(candidate);
      await tf.ready();
      return { backend: tf.getBackend(), tried };
    } catch (err) {
      tried.push({ choice: candidate, error: (err as Error).message.split('\n')[0] });
    }
  }
  const reasons = tried.map((t) => `${t.choice}: ${t.error}`).join('; ');
  throw new Error(`no TensorFlow.js backend could be loaded (${reasons})`);
}
