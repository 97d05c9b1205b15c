// queryMany's worker threads (exact-worker.ts, started through models/worker.ts) at the default batch threshold:
// several threads give exactly what the calling thread gives.
import { describe, expect, it } from 'vitest';
import { createExactIndex } from './exact.js';

/** Deterministic vectors in [-1, 1) (a small LCG, so the test needs nothing else). */
function vectors(n: number, dims: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  return Array.from({ length: n }, () => Float32Array.from({ length: dims }, next));
}

describe('exact index queryMany in worker threads', () => {
  it('matches the single-thread result for a batch of the default minimum size (256) and more', async () => {
    const dims = 8;
    const points = vectors(500, dims, 42);
    const single = createExactIndex({ dims, threads: 1 });
    const multi = createExactIndex({ dims, threads: 3 });
    points.forEach((v, i) => {
      single.upsert(`u${i}`, v);
      multi.upsert(`u${i}`, v);
    });
    multi.remove('u7');
    single.remove('u7');
    const m = 300;
    const queries = new Float32Array(m * dims);
    for (let q = 0; q < m; q++) queries.set(points[q]!, q * dims);
    const self = Array.from({ length: m }, (_, q) => `u${q}`);
    const expected = await single.queryMany(queries, 5, self);
    const got = await multi.queryMany(queries, 5, self);
    expect(got).toHaveLength(m);
    expect(got).toEqual(expected);
    expect(got[0]!.map((n) => n.id)).not.toContain('u0');
    expect(got.flat().map((n) => n.id)).not.toContain('u7');
    await Promise.all([single.close(), multi.close()]);
  });
});
