// Starts a worker thread from a module beside the caller's, in compiled JavaScript or, when the
// service runs from TypeScript sources (tests, bench), through tsx.
import { Worker } from 'node:worker_threads';

/**
 * @param name - the module's file name without extension, in the caller's folder.
 * @param callerUrl - the caller's `import.meta.url`.
 */
export function spawnThread(name: string, callerUrl: string, workerData: unknown): Worker {
  // A module loaded through tsx carries a query string after its path.
  const caller = new URL(callerUrl);
  caller.search = '';
  if (!caller.pathname.endsWith('.ts'))
    return new Worker(new URL(`./${name}.js`, caller), { workerData });
  const entry = new URL(`./${name}.ts`, caller).href;
  const bootstrap =
    `import('tsx/esm/api').then((tsx) => ` +
    `tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(caller.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}
