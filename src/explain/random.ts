// Seeded pseudo-random numbers, so that the same seed gives the same explanation.

/** A source of uniform numbers in [0, 1). */
export interface Random {
  next(): number;
  /** A uniform integer in [0, bound). */
  int(bound: number): number;
  /** Writes the next `out.length` numbers of the stream, the ones next() would return. */
  fill(out: Float64Array): void;
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
  // Kept as int32 in a typed array: numbers above 2^31 in closure variables would be boxed.
  const state = Int32Array.of(splitmix(), splitmix(), splitmix(), splitmix());
  const fill = (out: Float64Array): void => fillUniform(state, out);
  const one = new Float64Array(1);
  const next = (): number => {
    fillUniform(state, one);
    return one[0];
  };
  return { next, int: (bound: number) => Math.floor(next() * bound), fill };
}

/**
 * Advances the xoshiro128** state two steps per number and writes 53-bit uniforms: the high
 * 32 bits from the first output, the low 21 from the top of the second.
 */
function fillUniform(state: Int32Array, out: Float64Array): void {
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  for (let i = 0; i < out.length; i++) {
    const high = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    let t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    const low = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 11;
    t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    out[i] = (high * 2 ** 21 + low) / 2 ** 53;
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
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

/** Rotates a 32-bit integer left by k; the result as an int32. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed for requests that did not name one. */
export function drawSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
