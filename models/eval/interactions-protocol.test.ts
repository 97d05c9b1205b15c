import { describe, expect, it } from 'vitest';
import { createCpuBpr } from '../bpr/index.js';
import { createIdMap, fromCoo, hasInteraction, rowOf, type InteractionMatrix } from '../interactions.js';
import { bprRecommender, formatResultTable, popularityRecommender, randomRecommender, runInteractionsProtocol, scoreLists } from './interactions-protocol.js';

/** Two taste groups of 30 users over 40 items: group g likes items of parity g, with a popularity slope. */
function twoGroups(): InteractionMatrix {
  const r: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < 60; u++) {
    for (let i = 0; i < 40; i++) {
      // deterministic, uneven: lower items are liked by more users of the group
      if (i % 2 === u % 2 && (u * 7 + i * 13) % 40 < 40 - i / 2) {
        r.push(u);
        c.push(i);
      }
    }
  }
  const ids = (p: string, n: number) => createIdMap(Array.from({ length: n }, (_, k) => `${p}${k}`));
  return fromCoo(ids('u', 60), ids('i', 40), Int32Array.from(r), Int32Array.from(c), new Float32Array(r.length).fill(1));
}

describe('baseline recommenders', () => {
  it('popularity ranks by training users and skips the user’s own items', () => {
    const m = twoGroups();
    const [list] = popularityRecommender(m).recommend(Int32Array.of(0), 5) as number[][];
    expect(list).toHaveLength(5);
    for (const i of list!) expect(hasInteraction(m, 0, i)).toBe(false);
  });

  it('random is seeded and excludes training items', () => {
    const m = twoGroups();
    const a = randomRecommender(m, 1).recommend(Int32Array.of(0, 1), 5) as number[][];
    expect(randomRecommender(m, 1).recommend(Int32Array.of(0, 1), 5)).toEqual(a);
    for (const i of a[1]!) expect(hasInteraction(m, 1, i)).toBe(false);
  });
});

describe('protocol (b)', () => {
  it('scores lists against the held-out rows', () => {
    const m = twoGroups();
    const users = Int32Array.of(0, 1);
    const perfect = Array.from(users, (u) => [...rowOf(m, u)]);
    const s = scoreLists(perfect, users, m, m, [5]);
    expect(s['recall@5']).toBeGreaterThan(0);
    expect(s['precision@5']).toBeCloseTo(1, 12);
    expect(s['ndcg@5']).toBeCloseTo(1, 12);
  });

  it('runs baselines and BPR in one run; BPR finds the taste groups that popularity ignores', async () => {
    const m = twoGroups();
    const r = await runInteractionsProtocol(m, {
      ks: [5],
      seed: 3,
      methods: async (train) => {
        const bpr = createCpuBpr({ factors: 8, epochs: 60, learningRate: 0.1, seed: 1 });
        await bpr.fit(train);
        return [bprRecommender(bpr, train)];
      },
    });
    expect(r.methods.map((x) => x.name)).toEqual(['popularity', 'random', 'bpr']);
    expect(r.trainInteractions + r.testInteractions).toBe(m.nnz);
    const ndcg = (name: string): number => r.methods.find((x) => x.name === name)!.metrics['ndcg@5']!;
    expect(ndcg('bpr')).toBeGreaterThan(ndcg('popularity'));
    expect(ndcg('bpr')).toBeGreaterThan(ndcg('random'));
    expect(formatResultTable(r).split('\n')).toHaveLength(4);
    await expect(runInteractionsProtocol(m, { ks: [0], methods: async () => [] })).rejects.toThrow(RangeError);
  });
});
