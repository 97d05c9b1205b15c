import type { InteractionMatrix } from '../interactions.js';

/**
 * The table the samplers draw positives from: `size` entries, each naming an interaction by its user (`userOf`)
 * and item (`indices`). The first `nnz` entries are the CSR arrays themselves (so the kernels' binary search over
 * `indices[indptr[u] .. indptr[u+1])` still works on the same array); with confidence, further copies of the
 * interactions are appended so that a uniform draw over the table picks interaction j with probability ∝ its
 * confidence. Popularity-weighted negatives are drawn from the same table.
 */
export interface PositiveTable {
  readonly userOf: Int32Array;
  readonly indices: Int32Array;
  readonly size: number;
}

/** How far the table may grow: at most this many entries per interaction (the quantisation is finer the larger it is). */
export const MAX_EXPANSION = 8;

/**
 * Confidence c_j = 1 + α·ln(1 + w_j) (w_j ≥ 0 the interaction's weight, e.g. its play count; negative weights count as
 * 0). Interaction j appears m_j = max(1, round(s·c_j / c_min)) times, with the largest scale s ≥ 1 that keeps the
 * table within {@link MAX_EXPANSION} × nnz entries (when even s = 1 does not, s = 1: the table is then larger). With
 * α = 0 every m_j is 1 and the table is the CSR arrays, unchanged.
 */
export function positiveTable(m: InteractionMatrix, alpha: number): PositiveTable {
  if (alpha === 0 || m.nnz === 0) return { userOf: m.userOf, indices: m.indices, size: m.nnz };
  const c = new Float64Array(m.nnz);
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (let j = 0; j < m.nnz; j++) {
    const v = 1 + alpha * Math.log1p(Math.max(0, m.weights[j]!));
    c[j] = v;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  // equal weights (binary data): every interaction alike, as with α = 0
  if (max === min) return { userOf: m.userOf, indices: m.indices, size: m.nnz };
  const scale = Math.max(1, (MAX_EXPANSION * m.nnz) / (sum / min));
  const copies = new Int32Array(m.nnz);
  let size = 0;
  for (let j = 0; j < m.nnz; j++) {
    copies[j] = Math.max(1, Math.round((scale * c[j]!) / min));
    size += copies[j]!;
  }
  const userOf = new Int32Array(size);
  const indices = new Int32Array(size);
  userOf.set(m.userOf);
  indices.set(m.indices);
  let at = m.nnz;
  for (let j = 0; j < m.nnz; j++) {
    for (let r = 1; r < copies[j]!; r++) {
      userOf[at] = m.userOf[j]!;
      indices[at] = m.indices[j]!;
      at++;
    }
  }
  return { userOf, indices, size };
}
