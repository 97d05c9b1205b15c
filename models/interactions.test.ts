import { describe, expect, it } from 'vitest';
import { buildInteractionMatrix, hasInteraction, holdoutSplit, itemCounts, rowOf } from './interactions.js';

const rows = [
  { user: 'u1', item: 'c', weight: 1 },
  { user: 'u1', item: 'a', weight: 2 },
  { user: 'u2', item: 'b', weight: 5 },
  { user: 'u1', item: 'c', weight: 3 },
  { user: 'u2', item: 'a', weight: 1 },
];

describe('buildInteractionMatrix', () => {
  it('numbers ids in first-seen order, sorts rows and sums duplicate pairs', async () => {
    const m = await buildInteractionMatrix(rows);
    expect(m.users.ids).toEqual(['u1', 'u2']);
    expect(m.items.ids).toEqual(['c', 'a', 'b']);
    expect(m.items.indexOf('b')).toBe(2);
    expect(m.items.indexOf('zz')).toBeUndefined();
    expect([...m.indptr]).toEqual([0, 2, 4]);
    expect([...rowOf(m, 0)]).toEqual([0, 1]); // c, a
    expect([...m.weights.subarray(0, 2)]).toEqual([4, 2]);
    expect([...rowOf(m, 1)]).toEqual([1, 2]);
    expect([...m.userOf]).toEqual([0, 0, 1, 1]);
    expect(m.nnz).toBe(4);
    expect([...itemCounts(m)]).toEqual([1, 2, 1]);
  });

  it('answers membership by binary search', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ user: 'u', item: `i${(i * 7) % 50}`, weight: 1 }));
    many.push({ user: 'v', item: 'i3', weight: 1 });
    const m = await buildInteractionMatrix(many);
    for (let i = 0; i < 50; i++) expect(hasInteraction(m, 0, i)).toBe(true);
    const i3 = m.items.indexOf('i3')!;
    for (let i = 0; i < 50; i++) expect(hasInteraction(m, 1, i)).toBe(i === i3);
  });
});

describe('holdoutSplit', () => {
  const big = Array.from({ length: 30 }, (_, u) => Array.from({ length: 1 + u }, (_, i) => ({ user: `u${u}`, item: `i${(u * 3 + i) % 40}`, weight: 1 }))).flat();

  it('holds out about 20% of each user, partitions the entries and keeps ≥ 1 training item', async () => {
    const m = await buildInteractionMatrix(big);
    const { train, test } = holdoutSplit(m, { fraction: 0.2, seed: 7 });
    expect(train.nnz + test.nnz).toBe(m.nnz);
    for (let u = 0; u < m.users.ids.length; u++) {
      const n = rowOf(m, u).length;
      const h = rowOf(test, u).length;
      expect(h).toBe(n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(0.2 * n))));
      expect(rowOf(train, u).length).toBe(n - h);
      for (const i of rowOf(test, u)) {
        expect(hasInteraction(m, u, i)).toBe(true);
        expect(hasInteraction(train, u, i)).toBe(false);
      }
    }
  });

  it('is reproducible with a seed and differs across seeds', async () => {
    const m = await buildInteractionMatrix(big);
    const a = holdoutSplit(m, { seed: 1 }).test.indices;
    expect([...holdoutSplit(m, { seed: 1 }).test.indices]).toEqual([...a]);
    expect([...holdoutSplit(m, { seed: 2 }).test.indices]).not.toEqual([...a]);
  });

  it('rejects a fraction outside (0, 1)', async () => {
    const m = await buildInteractionMatrix(big);
    expect(() => holdoutSplit(m, { fraction: 1 })).toThrow(RangeError);
  });
});
