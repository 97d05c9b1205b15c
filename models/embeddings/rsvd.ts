import { gramT, orthonormalize, symmetricEigen } from './linalg.js';
import type { Rng } from '../random.js';
import { spmm, spmmT, type Csr } from './sparse.js';

/**
 * Randomised truncated SVD (Halko, Martinsson & Tropp 2011) of a sparse square matrix:
 * a Gaussian range finder with `oversample` extra columns and `powerIterations` subspace iterations.
 * Returns the top `rank` left singular vectors (n × rank, row-major) and singular values.
 */
export function randomizedSvd(
  m: Csr,
  rank: number,
  opts: { readonly oversample: number; readonly powerIterations: number; readonly rng: Rng },
): { u: Float64Array; s: Float64Array } {
  const n = m.n;
  const l = Math.min(n, rank + opts.oversample);
  const omega = new Float64Array(n * l);
  for (let i = 0; i < omega.length; i++) omega[i] = opts.rng.normal();
  let y = spmm(m, omega, l);
  orthonormalize(y, n, l, opts.rng);
  for (let it = 0; it < opts.powerIterations; it++) {
    const z = spmmT(m, y, l);
    orthonormalize(z, n, l, opts.rng);
    y = spmm(m, z, l);
    orthonormalize(y, n, l, opts.rng);
  }
  // B = Qᵀ M (l × n); B Bᵀ = Qᵀ M Mᵀ Q, whose eigenvectors rotate Q into the left singular vectors.
  const bt = spmmT(m, y, l); // (Mᵀ Q) = Bᵀ, n × l
  const bbt = gramT(bt, l, bt, l, n);
  const { values, vectors } = symmetricEigen(bbt, l);
  const r = Math.min(rank, l);
  const u = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < r; c++) {
      let acc = 0;
      for (let p = 0; p < l; p++) acc += y[i * l + p]! * vectors[p * l + c]!;
      u[i * r + c] = acc;
    }
  }
  const s = new Float64Array(r);
  for (let c = 0; c < r; c++) s[c] = Math.sqrt(Math.max(0, values[c]!));
  return { u, s };
}
