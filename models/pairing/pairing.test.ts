import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { createExactIndex } from './exact.js';
import { createHnswIndex } from './hnsw.js';
import type { PairingIndex } from './pairing.js';

/** Seeded clustered unit-ish vectors: `clusters` centres, points = centre + noise. */
function clustered(n: number, dims: number, clusters: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dims }, () => rng.normal()));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % clusters]!;
    return Float32Array.from(c, (x) => x + 0.5 * rng.normal());
  });
}

function bruteForce(points: Map<string, Float32Array>, q: Float32Array, k: number, skip?: string): string[] {
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; na += a[i]! ** 2; nb += b[i]! ** 2; }
    return d / Math.sqrt(na * nb);
  };
  return [...points]
    .filter(([id]) => id !== skip)
    .map(([id, v]) => ({ id, s: cos(q, v) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}

const IMPLEMENTATIONS: Array<[string, (dims: number) => PairingIndex, number]> = [
  ['exact (1 thread)', (dims) => createExactIndex({ dims, threads: 1, capacity: 4 }), 1],
  ['exact (2 threads)', (dims) => createExactIndex({ dims, threads: 2, capacity: 4, minParallelQueries: 1 }), 1],
  ['hnsw', (dims) => createHnswIndex({ dims, capacity: 4, ef: 100 }), 0.95],
];

describe.each(IMPLEMENTATIONS)('PairingIndex: %s', (_name, create, minRecall) => {
  it('finds the known nearest neighbour and reports cosine scores', async () => {
    const idx = create(3);
    idx.upsert('x', Float32Array.of(1, 0, 0));
    idx.upsert('y', Float32Array.of(0, 1, 0));
    idx.upsert('xy', Float32Array.of(1, 1, 0));
    const res = idx.query(Float32Array.of(2, 0.1, 0), 2);
    expect(res.map((r) => r.id)).toEqual(['x', 'xy']);
    expect(res[0]!.score).toBeCloseTo(2 / Math.sqrt(4.01), 4);
    expect(res[1]!.score).toBeCloseTo(2.1 / Math.sqrt(4.01 * 2), 4);
    await idx.close();
  });

  it('updates a vector in place and deletes users', async () => {
    const idx = create(3);
    idx.upsert('a', Float32Array.of(1, 0, 0));
    idx.upsert('b', Float32Array.of(0, 1, 0));
    idx.upsert('c', Float32Array.of(0, 0, 1));
    expect(idx.query(Float32Array.of(0, 0.9, 0.1), 1)[0]!.id).toBe('b');
    idx.upsert('a', Float32Array.of(0, 1, 0.05));
    expect(idx.size).toBe(3);
    expect(idx.query(Float32Array.of(0, 0.9, 0.1), 1)[0]!.id).toBe('a');
    expect(idx.remove('a')).toBe(true);
    expect(idx.remove('a')).toBe(false);
    expect(idx.has('a')).toBe(false);
    expect(idx.size).toBe(2);
    expect(idx.query(Float32Array.of(0, 0.9, 0.1), 5).map((r) => r.id)).toEqual(['b', 'c']);
    idx.upsert('d', Float32Array.of(0, 1, 0.1)); // reuses the deleted slot
    idx.upsert('a', Float32Array.of(1, 0, 0)); // and a deleted id comes back
    expect(idx.query(Float32Array.of(0, 0.9, 0.1), 1)[0]!.id).toBe('d');
    expect(idx.query(Float32Array.of(1, 0, 0), 1)[0]!.id).toBe('a');
    expect(idx.size).toBe(4);
    await idx.close();
  });

  it('honours exclusions and self-exclusion in batches', async () => {
    const idx = create(2);
    idx.upsert('a', Float32Array.of(1, 0));
    idx.upsert('b', Float32Array.of(1, 0.1));
    idx.upsert('c', Float32Array.of(0, 1));
    expect(idx.query(Float32Array.of(1, 0), 1, { exclude: new Set(['a']) })[0]!.id).toBe('b');
    const batch = await idx.queryMany(Float32Array.of(1, 0, 0, 1), 1, ['a', 'c']);
    expect(batch.map((r) => r[0]!.id)).toEqual(['b', 'b']);
    await idx.close();
  });

  it('rejects zero and wrong-sized vectors', () => {
    const idx = create(2);
    expect(() => idx.upsert('z', Float32Array.of(0, 0))).toThrow(RangeError);
    expect(() => idx.upsert('z', Float32Array.of(1, 0, 0))).toThrow(RangeError);
    expect(() => idx.query(Float32Array.of(1), 1)).toThrow(RangeError);
  });

  it(`matches brute force on clustered data (recall@10 >= ${minRecall}), growing past its capacity`, async () => {
    const points = clustered(600, 16, 12, 42);
    const map = new Map(points.map((p, i) => [`u${i}`, p]));
    const idx = create(16);
    for (const [id, v] of map) idx.upsert(id, v);
    // Churn: delete 50, re-add them with new vectors.
    const fresh = clustered(50, 16, 5, 7);
    for (let i = 0; i < 50; i++) idx.remove(`u${i}`);
    for (let i = 0; i < 50; i++) {
      idx.upsert(`u${i}`, fresh[i]!);
      map.set(`u${i}`, fresh[i]!);
    }
    const ids = [...map.keys()].slice(0, 300);
    const queries = new Float32Array(ids.length * 16);
    ids.forEach((id, q) => queries.set(map.get(id)!, q * 16));
    const batch = await idx.queryMany(queries, 10, ids);
    let hits = 0;
    ids.forEach((id, q) => {
      const truth = new Set(bruteForce(map, map.get(id)!, 10, id));
      expect(batch[q]!.map((n) => n.id)).not.toContain(id);
      hits += batch[q]!.filter((n) => truth.has(n.id)).length;
    });
    const recall = hits / (ids.length * 10);
    expect(recall).toBeGreaterThanOrEqual(minRecall);
    await idx.close();
  });
});
