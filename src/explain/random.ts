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

/**
 * The seed of one instance's stream, mixed from the request seed and the instance's index in
 * the request. Each instance draws from its own stream, so an instance gets the same
 * coalitions whether it is explained alone, in a chunk, or with the whole request.
 * @param seed - the request's seed, a 32-bit integer.
 * @param index - the instance's position in the request, from 0.
 * @returns a 32-bit unsigned integer.
 */
export function instanceSeed(seed: number, index: number): number {
  // murmur3's finalizer over seed and index: nearby seeds and indices give unrelated streams.
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh seed for requests that did not name one. */
export function drawSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
