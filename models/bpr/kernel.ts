/**
 * The BPR SGD inner loop: draws `samples` (user, positive, negative) triples and updates the factors in place.
 * Positives are a uniformly random entry of `userOf`/`indices` (the interactions, then with confidence further copies of
 * them: positives.ts; so users are drawn by activity, as in implicit); negatives are a
 * uniform item (`negMode` 0) or the item of a random interaction (1, popularity-weighted). With `verify` a negative
 * that the user has (binary search in the sorted CSR row) is redrawn, up to 16 times, then the sample is skipped.
 *
 * `U` (users × stride) and `V` (items × stride) hold `nf` factors, then with `bias` one column that is 1 for
 * users (never updated) and the item bias for items. No allocation; randomness is mulberry32 seeded by `seed`.
 * `stats` receives [correct, skipped, lossSum, lossCount] (added to).
 *
 * Self-contained and allocation-free: the worker threads (cpu-worker.ts) run it over shared memory (hogwild).
 * `run` in simd.ts is the same loop in WebAssembly (f32x4 arithmetic), used by default; this one is `simd: false`.
 */
export function bprKernel(
  U: Float32Array,
  V: Float32Array,
  stride: number,
  nf: number,
  bias: number,
  userOf: Int32Array,
  indptr: Int32Array,
  indices: Int32Array,
  nItems: number,
  samples: number,
  seed: number,
  lr: number,
  reg: number,
  negMode: number,
  verify: number,
  stats: Float64Array,
  candidates = 1,
): void {
  const nnz = indices.length;
  const INV32 = 2.3283064365386963e-10;
  let s = seed | 0;
  let correct = 0;
  let skipped = 0;
  let lossSum = 0;
  let lossCount = 0;
  for (let n = 0; n < samples; n++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor(((t ^ (t >>> 14)) >>> 0) * INV32 * nnz);
    const u = userOf[j]!;
    const i = indices[j]!;
    const rowA = indptr[u]!;
    const rowB = indptr[u + 1]!;
    // with `candidates` > 1, the highest-scoring of that many valid negatives is kept (dynamic negative sampling)
    let k = -1;
    for (let c = 0; c < candidates; c++) {
      let kc = -1;
      for (let tries = 0; tries < 16; tries++) {
        s = (s + 0x6d2b79f5) | 0;
        let r = Math.imul(s ^ (s >>> 15), s | 1);
        r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
        const x = ((r ^ (r >>> 14)) >>> 0) * INV32;
        const cand = negMode === 0 ? Math.floor(x * nItems) : indices[Math.floor(x * nnz)]!;
        if (cand === i) continue;
        if (verify !== 0) {
          let lo = rowA;
          let hi = rowB - 1;
          let found = false;
          while (lo <= hi) {
            const mid = (lo + hi) >>> 1;
            const v = indices[mid]!;
            if (v === cand) {
              found = true;
              break;
            }
            if (v < cand) lo = mid + 1;
            else hi = mid - 1;
          }
          if (found) continue;
        }
        kc = cand;
        break;
      }
      if (kc < 0) continue;
      if (k < 0) k = kc;
      else {
        let d = 0;
        const uo = u * stride, ao = kc * stride, bo = k * stride;
        for (let f = 0; f < stride; f++) d += U[uo + f]! * (V[ao + f]! - V[bo + f]!);
        if (d > 0) k = kc;
      }
    }
    if (k < 0) {
      skipped++;
      continue;
    }
    const uo = u * stride;
    const io = i * stride;
    const ko = k * stride;
    let xuij = 0;
    for (let c = 0; c < stride; c++) xuij += U[uo + c]! * (V[io + c]! - V[ko + c]!);
    // z = σ(−x̂_uij): the gradient scale of ln σ(x̂_uij)
    const z = 1 / (1 + Math.exp(xuij));
    if (z < 0.5) correct++;
    if ((n & 15) === 0) {
      lossSum += xuij > 0 ? Math.log1p(Math.exp(-xuij)) : -xuij + Math.log1p(Math.exp(xuij));
      lossCount++;
    }
    const lz = lr * z;
    const decay = 1 - lr * reg;
    for (let c = 0; c < nf; c++) {
      const uf = U[uo + c]!;
      const pf = V[io + c]!;
      const qf = V[ko + c]!;
      U[uo + c] = decay * uf + lz * (pf - qf);
      V[io + c] = decay * pf + lz * uf;
      V[ko + c] = decay * qf - lz * uf;
    }
    if (bias !== 0) {
      V[io + nf] = decay * V[io + nf]! + lz;
      V[ko + nf] = decay * V[ko + nf]! - lz;
    }
  }
  stats[0] = stats[0]! + correct;
  stats[1] = stats[1]! + skipped;
  stats[2] = stats[2]! + lossSum;
  stats[3] = stats[3]! + lossCount;
}
