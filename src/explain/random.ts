// Seeded pseudo-random numbers, so that the same seed gives the same explanation.

/** A source of uniform numbers in [0, 1). */
export interface Random {
  next(): number;
  /** A uniform integer in [0, bound). */
  int(bound: number): number;
}

/**
 * xoshiro128** seeded through splitmix32: fast, 128 bits of state, good equidistribution.
 * @param seed - any 32-bit integer; equal seeds give equal streams.
 */
export function createRandom(seed: number): Random {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const next = (): number => (nextUint32() * 2 ** 21 + (nextUint32() >>> 11)) / 2 ** 53;

  return { next, int: (bound: number) => Math.floor(next() * bound) };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh seed for requests that did not name one. */
export function drawSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
