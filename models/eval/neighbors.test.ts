import { describe, expect, it } from 'vitest';
import { createIdMap, fromCoo, type InteractionMatrix } from '../interactions.js';
import { createRng } from '../random.js';
import { cosineNeighbors, formatNeighborsTable, neighborRecall, neighborVote, randomNeighbors, runNeighborsEval } from './neighbors.js';

function matrix(rows: readonly (readonly [number, number, number])[], nUsers: number, nItems: number): InteractionMatrix {
  const ids = (p: string, n: number) => createIdMap(Array.from({ length: n }, (_, k) => `${p}${k}`));
  return fromCoo(ids('u', nUsers), ids('i', nItems), Int32Array.from(rows, (r) => r[0]), Int32Array.from(rows, (r) => r[1]), Float32Array.from(rows, (r) => r[2]));
}

describe('cosineNeighbors', () => {
  it('is the cosine of log(1 + count) vectors, best first, the user left out, only users sharing an item', () => {
    // u0: i0×3, i1×1; u1: i0×3, i1×1 (same); u2: i0×1, i2×50; u3: i3 only
    const m = matrix([[0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 1], [2, 0, 1], [2, 2, 50], [3, 3, 7]], 4, 4);
    const [n0, n3] = cosineNeighbors(m, [0, 3], 5);
    expect(n0!.map((x) => x.user)).toEqual([1, 2]);
    expect(n0![0]!.score).toBeCloseTo(1, 12);
    const l = Math.log1p;
    const expected = (l(3) * l(1)) / (Math.hypot(l(3), l(1)) * Math.hypot(l(1), l(50)));
    expect(n0![1]!.score).toBeCloseTo(expected, 12);
    expect(n3).toEqual([]);
    // binary weights: u2 is as close to u0 as through one shared item of two
    expect(cosineNeighbors(m, [0], 1, 'binary')[0]![0]!.user).toBe(1);
  });
});

describe('neighbour scoring', () => {
  const m = matrix([[0, 0, 1], [1, 0, 1], [1, 1, 1], [1, 2, 1], [2, 2, 1], [2, 3, 1], [3, 3, 1]], 4, 5);

  it('votes: items of the neighbours the user lacks, by votes, ties by popularity then index', () => {
    const pop = Int32Array.of(2, 1, 2, 2, 0);
    expect(neighborVote(m, 0, [1, 2], 10, pop)).toEqual([2, 3, 1]);
    expect(neighborVote(m, 0, [1, 2], 1, pop)).toEqual([2]);
    expect(neighborVote(m, 0, [], 5, pop)).toEqual([]);
  });

  it('neighbour recall: the share of held-out items some neighbour has', () => {
    expect(neighborRecall(m, [1], new Set([1, 3]))).toBe(0.5);
    expect(neighborRecall(m, [1, 3], new Set([1, 3, 4]))).toBeCloseTo(2 / 3, 12);
    expect(neighborRecall(m, [1], new Set())).toBe(0);
  });

  it('random neighbours are distinct other users, seeded', () => {
    const a = randomNeighbors(10, [0, 5], 4, 1);
    expect(randomNeighbors(10, [0, 5], 4, 1)).toEqual(a);
    for (const [q, u] of [0, 5].entries()) {
      expect(new Set(a[q]!.map((x) => x.user)).size).toBe(4);
      expect(a[q]!.map((x) => x.user)).not.toContain(u);
    }
  });
});

describe('runNeighborsEval', () => {
  it('on two taste groups both the pairing and the cosine beat random users', async () => {
    const rng = createRng(5);
    const rows: [number, number, number][] = [];
    for (let u = 0; u < 40; u++) {
      const items = new Set<number>();
      while (items.size < 10) items.add((u % 2) * 30 + rng.int(30));
      for (const i of items) rows.push([u, i, 1 + rng.int(40)]);
    }
    const m = matrix(rows, 40, 60);
    const r = await runNeighborsEval(m, { ks: [5], at: 5, threads: 1, embeddings: { dims: 8, minCount: 1 } });
    expect(r.rows.map((x) => x.method)).toEqual(['taste pairing (ppmi-svd, exact)', 'cosine of log(1+count) vectors', 'random users']);
    expect(r.testUsers).toBe(40);
    const [pairing, cosine, random] = r.rows.map((x) => x.metrics['neighbour-recall']!);
    expect(pairing).toBeGreaterThan(random!);
    expect(cosine).toBeGreaterThan(random!);
    expect(r.rows[0]!.metrics['ndcg@5']).toBeGreaterThan(r.rows[2]!.metrics['ndcg@5']!);
    expect(formatNeighborsTable(r).trim().split('\n')).toHaveLength(2 + 3);
    await expect(runNeighborsEval(m, { ks: [] })).rejects.toThrow(RangeError);
  });
});
