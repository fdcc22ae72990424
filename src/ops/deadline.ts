// Bounds the wait on a dependency, so that probes and scrapes answer while Redis hangs.

/** Probes and scrapes never wait on a dependency longer than this. */
export const PROBE_TIMEOUT_MS = 2000;

/** Settles like `work`, or rejects once `ms` have passed without it settling. */
export function withDeadline<T>(work: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
