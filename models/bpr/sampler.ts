import type { InteractionMatrix } from '../interactions.js';
import type { NegativeSampling } from './types.js';

/**
 * Draws BPR triples in batches, with the same rules as the CPU kernel: a positive is a uniformly random
 * interaction; a negative is a uniform item or, with `popularity`, the item of a random interaction; with
 * `verify` a negative the user has is redrawn (up to 16 times, then the triple is dropped). Seeded (mulberry32).
 */
export interface TripleSampler {
  /** Fills up to `users.length` triples; returns how many were filled (the rest were dropped). */
  fill(users: Int32Array, pos: Int32Array, neg: Int32Array): number;
}

export function createTripleSampler(m: InteractionMatrix, negatives: NegativeSampling, verify: boolean, seed: number): TripleSampler {
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
  return {
    fill(users, pos, neg) {
      let n = 0;
      for (let b = 0; b < users.length; b++) {
        const j = Math.floor(next() * nnz);
        const u = userOf[j]!;
        const i = indices[j]!;
        let k = -1;
        for (let tries = 0; tries < 16; tries++) {
          const x = next();
          const cand = negatives === 'uniform' ? Math.floor(x * nItems) : indices[Math.floor(x * nnz)]!;
          if (cand === i || (verify && has(u, cand))) continue;
          k = cand;
          break;
        }
        if (k < 0) continue;
        users[n] = u;
        pos[n] = i;
        neg[n] = k;
        n++;
      }
      return n;
    },
  };
}
