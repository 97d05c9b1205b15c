import type { Rng } from '../random.js';

/**
 * Orthonormalises the columns of Y (n × k, row-major) in place by modified Gram–Schmidt, run twice
 * for stability. A column that collapses (rank deficiency) is replaced by a random one.
 */
export function orthonormalize(y: Float64Array, n: number, k: number, rng: Rng): void {
  const cols = Array.from({ length: k }, (_, c) => {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = y[i * k + c]!;
    return col;
  });
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < k; c++) {
      const v = cols[c]!;
      for (let attempt = 0; attempt < 3; attempt++) {
        for (let p = 0; p < c; p++) {
          const u = cols[p]!;
          let d = 0;
          for (let i = 0; i < n; i++) d += u[i]! * v[i]!;
          for (let i = 0; i < n; i++) v[i]! -= d * u[i]!;
        }
        let norm = 0;
        for (let i = 0; i < n; i++) norm += v[i]! * v[i]!;
        norm = Math.sqrt(norm);
        if (norm > 1e-10) {
          for (let i = 0; i < n; i++) v[i]! /= norm;
          break;
        }
        for (let i = 0; i < n; i++) v[i] = rng.normal();
      }
    }
  }
  for (let c = 0; c < k; c++) {
    const col = cols[c]!;
    for (let i = 0; i < n; i++) y[i * k + c] = col[i]!;
  }
}

/** Aᵀ B for A (n × ka) and B (n × kb), both row-major; result ka × kb row-major. */
export function gramT(a: Float64Array, ka: number, b: Float64Array, kb: number, n: number): Float64Array {
  const out = new Float64Array(ka * kb);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < ka; r++) {
      const av = a[i * ka + r]!;
      if (av === 0) continue;
      const o = r * kb;
      const bi = i * kb;
      for (let c = 0; c < kb; c++) out[o + c]! += av * b[bi + c]!;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric k × k matrix by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching eigenvectors as columns (row-major k × k).
 */
export function symmetricEigen(a: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p * k + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p * k + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * k + q]! - m[p * k + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = m[r * k + p]!;
          const arq = m[r * k + q]!;
          m[r * k + p] = c * arp - s * arq;
          m[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = m[p * k + r]!;
          const aqr = m[q * k + r]!;
          m[p * k + r] = c * apr - s * aqr;
          m[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p]!;
          const vrq = v[r * k + q]!;
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => m[y * k + y]! - m[x * k + x]!);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    values[dst] = m[src * k + src]!;
    for (let r = 0; r < k; r++) vectors[r * k + dst] = v[r * k + src]!;
  });
  return { values, vectors };
}
