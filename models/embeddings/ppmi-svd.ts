import { normalizeRows } from './embeddings.js';
import { createRng } from '../random.js';
import { randomizedSvd } from './rsvd.js';
import { ppmiMatrix, type BasketWeighting } from './sparse.js';
import type { Baskets } from './vocabulary.js';

export interface PpmiSvdParams {
  readonly dims: number;
  /** Context-distribution smoothing exponent (Levy et al. 2015: 0.75). */
  readonly smoothing: number;
  /** Shifted PPMI: subtract log(shift). */
  readonly shift: number;
  /** Exponent p in U·Σ^p (0.5 is symmetric; 0 drops the singular values). */
  readonly eigenPower: number;
  readonly oversample: number;
  readonly powerIterations: number;
  readonly weighting: BasketWeighting;
  readonly seed: number;
}

/** PPMI of item co-occurrence, factorised by randomised truncated SVD; rows are normalised. */
export function trainPpmiSvd(baskets: Baskets, numItems: number, p: PpmiSvdParams, log: (msg: string) => void): Float32Array {
  const t0 = Date.now();
  const m = ppmiMatrix(baskets, numItems, { smoothing: p.smoothing, shift: p.shift, weighting: p.weighting });
  log(`ppmi: ${numItems} items, ${m.indices.length} non-zeros (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  const t1 = Date.now();
  const { u, s } = randomizedSvd(m, p.dims, { oversample: p.oversample, powerIterations: p.powerIterations, rng: createRng(p.seed) });
  log(`svd: rank ${s.length}, top singular values ${[...s.slice(0, 3)].map((x) => x.toFixed(2)).join(', ')} (${((Date.now() - t1) / 1000).toFixed(1)}s)`);
  const r = s.length;
  const out = new Float32Array(numItems * p.dims);
  for (let i = 0; i < numItems; i++) {
    for (let c = 0; c < r; c++) out[i * p.dims + c] = u[i * r + c]! * Math.pow(s[c]!, p.eigenPower);
  }
  normalizeRows(out, p.dims);
  return out;
}
