import { describe, expect, it } from 'vitest';
import { coverageAtK, hitsAtK, meanOver, ndcgAtK, noveltyAtK, precisionAtK, recallAtK } from './metrics.js';

describe('ranking metrics (hand-computed)', () => {
  const ranked = ['a', 'b', 'c', 'd', 'e'];
  const rel = new Set(['b', 'e', 'z']);

  it('hits, recall and precision at k', () => {
    expect(hitsAtK(ranked, rel, 2)).toBe(1);
    expect(hitsAtK(ranked, rel, 5)).toBe(2);
    expect(recallAtK(ranked, rel, 2)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, rel, 5)).toBeCloseTo(2 / 3, 12);
    expect(precisionAtK(ranked, rel, 5)).toBeCloseTo(2 / 5, 12);
    // a list shorter than k: the missing slots count as misses
    expect(precisionAtK(['b'], rel, 4)).toBeCloseTo(1 / 4, 12);
    expect(recallAtK(ranked, new Set(), 5)).toBe(0);
  });

  it('NDCG@k: hits at ranks 2 and 5 against an ideal of 3 hits at the top', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(6); // 0.63093 + 0.38685
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4); // 1 + 0.63093 + 0.5 = 2.13093; 1.01778 / 2.13093 = 0.47762
    expect(ndcgAtK(ranked, rel, 5)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAtK(ranked, rel, 5)).toBeCloseTo(0.47762, 4);
    // k = 2: one hit at rank 2; ideal has min(2, 3) = 2 hits
    expect(ndcgAtK(ranked, rel, 2)).toBeCloseTo(1 / Math.log2(3) / (1 + 1 / Math.log2(3)), 12);
    expect(ndcgAtK(['b', 'e', 'z'], rel, 3)).toBeCloseTo(1, 12);
    expect(ndcgAtK(['q'], rel, 3)).toBe(0);
  });

  it('coverage: distinct items in the top k over the catalogue', () => {
    expect(coverageAtK([[1, 2, 3], [2, 4, 5]], 10, 2)).toBeCloseTo(3 / 10, 12); // {1,2,4}
    expect(coverageAtK([[1, 2, 3], [2, 4, 5]], 10, 3)).toBeCloseTo(5 / 10, 12);
  });

  it('novelty: mean −log2(users with the item / users)', () => {
    const pop = new Map<number, number>([[1, 8], [2, 2], [3, 0]]);
    // 8 users: −log2(8/8) = 0, −log2(2/8) = 2, item 3 counts as 1 user: −log2(1/8) = 3
    expect(noveltyAtK([[1, 2], [3]], (i) => pop.get(i as number) ?? 0, 8, 2)).toBeCloseTo((0 + 2 + 3) / 3, 12);
  });

  it('meanOver skips users without relevant items', () => {
    const lists = [['a'], ['b'], ['c']];
    const rels = [new Set(['a']), new Set<string>(), new Set(['x'])];
    expect(meanOver(lists, rels, (l, r) => recallAtK(l, r, 1))).toBeCloseTo(0.5, 12);
  });
});
