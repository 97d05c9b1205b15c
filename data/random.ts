/**
 * Sampling helpers for the synthetic world and the simulated users: hashes, Zipf and alias tables. Pure and
 * deterministic (32-bit integer maths only). The seeded generator itself is `models/random.ts`.
 */

/** Mixes up to four 32-bit values into one well-spread 32-bit hash (murmur3's finaliser over a running state). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = 0x9e3779b9 ^ a;
  for (const v of [b, c, d]) {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h = (h ^ (h >>> 16) ^ v) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform number in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return (h >>> 0) / 4294967296;
}

/**
 * Cumulative Zipf weights over ranks 0..n-1 (weight of rank r ∝ 1/(r+1)^s), for {@link sampleCdf}.
 * Float64Array: n = 1M costs 8 MB.
 */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / Math.pow(r + 1, s);
    cdf[r] = total;
  }
  for (let r = 0; r < n; r++) cdf[r] = (cdf[r] as number) / total;
  return cdf;
}

/** Index i with cdf[i-1] <= u < cdf[i] (binary search); u in [0, 1). */
export function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Walker's alias table: O(1) sampling from fixed weights. */
export interface AliasTable {
  readonly size: number;
  /** Draws an index with probability proportional to its weight. */
  sample(u1: number, u2: number): number;
}

export function createAliasTable(weights: ArrayLike<number>): AliasTable {
  const n = weights.length;
  if (n === 0) throw new RangeError('alias table needs at least one weight');
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i] as number;
  if (!(total > 0)) throw new RangeError('alias table needs a positive total weight');
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const small = new Int32Array(n);
  const large = new Int32Array(n);
  let ns = 0;
  let nl = 0;
  for (let i = 0; i < n; i++) {
    prob[i] = ((weights[i] as number) * n) / total;
    if ((prob[i] as number) < 1) small[ns++] = i;
    else large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns] as number;
    const l = large[nl - 1] as number;
    alias[s] = l;
    prob[l] = (prob[l] as number) + (prob[s] as number) - 1;
    if ((prob[l] as number) < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  while (nl > 0) prob[large[--nl] as number] = 1;
  while (ns > 0) prob[small[--ns] as number] = 1;
  return {
    size: n,
    sample(u1, u2) {
      const i = Math.min(n - 1, Math.floor(u1 * n));
      return u2 < (prob[i] as number) ? i : (alias[i] as number);
    },
  };
}
