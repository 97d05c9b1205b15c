/**
 * Blocked exact top-k inner products: for queries [qStart, qEnd) of `queries` (m × d) against the
 * `n` rows of `data` (n × d), writes the k best row indices and scores per query into outIdx/outScore
 * (row-major m × k, best first, -1 padding). Rows with `alive[r] === 0` and row `skip[q]` are ignored.
 *
 * Self-contained: the worker threads of the exact index (exact-worker.ts) run it over shared memory.
 */
export function topKBlocked(
  data: Float32Array,
  alive: Uint8Array,
  n: number,
  d: number,
  queries: Float32Array,
  skip: Int32Array,
  qStart: number,
  qEnd: number,
  k: number,
  outIdx: Int32Array,
  outScore: Float32Array,
): void {
  const QB = 8;
  const NB = 1024;
  const heapS = new Float32Array(QB * k);
  const heapI = new Int32Array(QB * k);
  const fill = new Int32Array(QB);
  const minPos = new Int32Array(QB);
  for (let q0 = qStart; q0 < qEnd; q0 += QB) {
    const q1 = Math.min(qEnd, q0 + QB);
    fill.fill(0);
    for (let r0 = 0; r0 < n; r0 += NB) {
      const r1 = Math.min(n, r0 + NB);
      for (let q = q0; q < q1; q++) {
        const h = (q - q0) * k;
        const qo = q * d;
        const sk = skip[q]!;
        for (let r = r0; r < r1; r++) {
          if (alive[r] === 0 || r === sk) continue;
          const ro = r * d;
          let s = 0;
          for (let c = 0; c < d; c++) s += data[ro + c]! * queries[qo + c]!;
          const f = fill[q - q0]!;
          if (f < k) {
            heapS[h + f] = s;
            heapI[h + f] = r;
            fill[q - q0] = f + 1;
            if (f + 1 === k) {
              let mp = 0;
              for (let t = 1; t < k; t++) if (heapS[h + t]! < heapS[h + mp]!) mp = t;
              minPos[q - q0] = mp;
            }
          } else if (k > 0 && s > heapS[h + minPos[q - q0]!]!) {
            const mp0 = minPos[q - q0]!;
            heapS[h + mp0] = s;
            heapI[h + mp0] = r;
            let mp = 0;
            for (let t = 1; t < k; t++) if (heapS[h + t]! < heapS[h + mp]!) mp = t;
            minPos[q - q0] = mp;
          }
        }
      }
    }
    for (let q = q0; q < q1; q++) {
      const h = (q - q0) * k;
      const f = fill[q - q0]!;
      const order = Array.from({ length: f }, (_, t) => t).sort((a, b) => heapS[h + b]! - heapS[h + a]! || heapI[h + a]! - heapI[h + b]!);
      for (let t = 0; t < k; t++) {
        outIdx[q * k + t] = t < f ? heapI[h + order[t]!]! : -1;
        outScore[q * k + t] = t < f ? heapS[h + order[t]!]! : 0;
      }
    }
  }
}
