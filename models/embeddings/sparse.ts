import type { Baskets } from './vocabulary.js';

/** Square sparse matrix in CSR form. */
export interface Csr {
  readonly n: number;
  readonly indptr: Float64Array; // Float64 so nnz may exceed 2^31
  readonly indices: Int32Array;
  readonly data: Float32Array;
}

/** Basket weight in the co-occurrence counts: 1, or 1/(len-1) so long playlists do not dominate. */
export type BasketWeighting = 'none' | 'inverse-length';

/** Builds the PPMI matrix of item co-occurrence within baskets (the diagonal is left out). */
export function ppmiMatrix(
  baskets: Baskets,
  numItems: number,
  opts: { readonly smoothing: number; readonly shift: number; readonly weighting: BasketWeighting },
): Csr {
  // Item -> baskets (transpose), so each row of the co-occurrence matrix is one pass over a dense accumulator.
  const deg = new Int32Array(numItems + 1);
  for (let k = 0; k < baskets.items.length; k++) deg[baskets.items[k]! + 1]! += 1;
  for (let i = 0; i < numItems; i++) deg[i + 1]! += deg[i]!;
  const itemBaskets = new Int32Array(baskets.items.length);
  const fill = deg.slice(0, numItems);
  for (let b = 0; b < baskets.length; b++) {
    for (let k = baskets.offsets[b]!; k < baskets.offsets[b + 1]!; k++) itemBaskets[fill[baskets.items[k]!]!++] = b;
  }
  const bw = new Float64Array(baskets.length);
  for (let b = 0; b < baskets.length; b++) {
    const len = baskets.offsets[b + 1]! - baskets.offsets[b]!;
    bw[b] = opts.weighting === 'none' ? 1 : len > 1 ? 1 / (len - 1) : 0;
  }
  // Marginals: row sums of the co-occurrence matrix.
  const rowSum = new Float64Array(numItems);
  for (let b = 0; b < baskets.length; b++) {
    const len = baskets.offsets[b + 1]! - baskets.offsets[b]!;
    for (let k = baskets.offsets[b]!; k < baskets.offsets[b + 1]!; k++) rowSum[baskets.items[k]!]! += bw[b]! * (len - 1);
  }
  let total = 0;
  let ctxTotal = 0;
  const ctx = new Float64Array(numItems);
  for (let i = 0; i < numItems; i++) {
    total += rowSum[i]!;
    ctx[i] = Math.pow(rowSum[i]!, opts.smoothing);
    ctxTotal += ctx[i]!;
  }
  const logShift = Math.log(opts.shift);
  const acc = new Float64Array(numItems);
  const touched = new Int32Array(numItems);
  const indptr = new Float64Array(numItems + 1);
  let indices = new Int32Array(1 << 20);
  let data = new Float32Array(1 << 20);
  let nnz = 0;
  for (let i = 0; i < numItems; i++) {
    let nt = 0;
    for (let a = deg[i]!; a < deg[i + 1]!; a++) {
      const b = itemBaskets[a]!;
      const w = bw[b]!;
      for (let k = baskets.offsets[b]!; k < baskets.offsets[b + 1]!; k++) {
        const j = baskets.items[k]!;
        if (j === i) continue;
        if (acc[j] === 0) touched[nt++] = j;
        acc[j]! += w;
      }
    }
    const pi = rowSum[i]! / total;
    if (nnz + nt > indices.length) {
      const cap = Math.max(indices.length * 2, nnz + nt);
      const ni = new Int32Array(cap);
      ni.set(indices.subarray(0, nnz));
      indices = ni;
      const nd = new Float32Array(cap);
      nd.set(data.subarray(0, nnz));
      data = nd;
    }
    const sorted = touched.subarray(0, nt).sort();
    for (let t = 0; t < nt; t++) {
      const j = sorted[t]!;
      const pij = acc[j]! / total;
      const pmi = Math.log(pij / (pi * (ctx[j]! / ctxTotal))) - logShift;
      acc[j] = 0;
      if (pmi > 0) {
        indices[nnz] = j;
        data[nnz] = pmi;
        nnz++;
      }
    }
    indptr[i + 1] = nnz;
  }
  return { n: numItems, indptr, indices: indices.slice(0, nnz), data: data.slice(0, nnz) };
}

/** out (n × k, row-major) = M (n × n) · X (n × k, row-major). */
export function spmm(m: Csr, x: Float64Array, k: number): Float64Array {
  const out = new Float64Array(m.n * k);
  for (let i = 0; i < m.n; i++) {
    const oi = i * k;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const v = m.data[p]!;
      const xj = m.indices[p]! * k;
      for (let c = 0; c < k; c++) out[oi + c]! += v * x[xj + c]!;
    }
  }
  return out;
}

/** out (n × k, row-major) = Mᵀ (n × n) · X (n × k, row-major). */
export function spmmT(m: Csr, x: Float64Array, k: number): Float64Array {
  const out = new Float64Array(m.n * k);
  for (let i = 0; i < m.n; i++) {
    const xi = i * k;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const v = m.data[p]!;
      const oj = m.indices[p]! * k;
      for (let c = 0; c < k; c++) out[oj + c]! += v * x[xi + c]!;
    }
  }
  return out;
}
