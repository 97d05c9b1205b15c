import type { InteractionMatrix } from '../interactions.js';
import type { NegativeSampling } from './types.js';

/**
 * Draws BPR triples in batches, with the same rules as the CPU kernel: a positive is a uniformly random
 * interaction; a negative is a uniform item or, with `popularity`, the item of a random interaction; with
 * `verify` a negative the user has is redrawn (up to 16 times, then the triple is dropped). Seeded (mulberry32).
 */
export interface TripleSampler {
  /**
   * Fills up to `users.length` triples; returns how many were filled (the rest were dropped). With `candidates` c > 1
   * (see {@link createTripleSampler}) `neg` holds c negatives per triple, `neg[c·t .. c·t + c)`, for the caller to keep
   * the highest-scoring one; a candidate that could not be drawn repeats the triple's first.
   */
  fill(users: Int32Array, pos: Int32Array, neg: Int32Array): number;
}

/** `m`'s `userOf`/`indices`/`nnz` may be a positive table (positives.ts): the CSR rows are its first entries. */
export function createTripleSampler(m: InteractionMatrix, negatives: NegativeSampling, verify: boolean, seed: number, candidates = 1): TripleSampler {
  let s = seed | 0;
  const nnz = m.nnz;
  const nItems = m.items.ids.length;
  const { indptr, indices, userOf } = m;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) * 2.3283064365386963e-10;
  };
  const has = (u: number, item: number): boolean => {
    let lo = indptr[u]!;
    let hi = indptr[u + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = indices[mid]!;
      if (v === item) return true;
      if (v < item) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  };
  const draw = (u: number, i: number): number => {
    for (let tries = 0; tries < 16; tries++) {
      const x = next();
      const cand = negatives === 'uniform' ? Math.floor(x * nItems) : indices[Math.floor(x * nnz)]!;
      if (cand === i || (verify && has(u, cand))) continue;
      return cand;
    }
    return -1;
  };
  return {
    fill(users, pos, neg) {
      let n = 0;
      for (let b = 0; b < users.length; b++) {
        const j = Math.floor(next() * nnz);
        const u = userOf[j]!;
        const i = indices[j]!;
        let first = -1;
        for (let c = 0; c < candidates; c++) {
          const k = draw(u, i);
          if (k >= 0 && first < 0) first = k;
          neg[n * candidates + c] = k;
        }
        if (first < 0) continue;
        for (let c = 0; c < candidates; c++) if (neg[n * candidates + c]! < 0) neg[n * candidates + c] = first;
        users[n] = u;
        pos[n] = i;
        n++;
      }
      return n;
    },
  };
}
