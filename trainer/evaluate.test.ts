import { describe, expect, it } from 'vitest';
import type { BprFactors } from '../models/bpr/index.js';
import { createIdMap } from '../models/interactions.js';
import { evaluateHeldOut, evaluationUsers } from './evaluate.js';
import type { TrainingData } from './training-set.js';

const data: TrainingData = {
  format: 'buddies-trainer-snapshot', formatVersion: 1, source: 's',
  users: ['u1', 'u2'], items: ['a', 'b', 'c'], pairs: [0, 0, 1, 1], weights: [1, 1], heldOutOnlyItems: ['d'],
  heldOut: [{ userId: 'u1', relevant: ['c'] }, { userId: 'u2', relevant: ['d'] }],
  trainFrom: 0, trainTo: 1, heldOutStart: 1, heldOutEnd: 2, trainWindows: 2, heldOutWindows: 2, hash: 'x',
};

/** Two factors, no bias: u1 likes dimension 0, u2 dimension 1. */
function model(items: Record<string, [number, number]>, users: Record<string, [number, number]> = { u1: [1, 0], u2: [0, 1] }): BprFactors {
  const ids = Object.keys(items);
  const uids = Object.keys(users);
  return {
    factors: 2, itemBias: false, stride: 2, users: createIdMap(uids), items: createIdMap(ids),
    userFactors: Float32Array.from(uids.flatMap((u) => users[u]!)), itemFactors: Float32Array.from(ids.flatMap((i) => items[i]!)),
  };
}

describe('held-out evaluation (issue 10)', () => {
  it('scores a model that puts each held-out playlist first at NDCG 1 and AUC 1 (training playlists left out)', () => {
    // u1: c (0.9) beats b (0.1); a is u1's training playlist and would score highest, but is excluded
    const good = model({ a: [5, 0], b: [0.1, 0], c: [0.9, 0], d: [0, 0.9] });
    expect(evaluateHeldOut(good, data)).toEqual({ ndcg: 1, recall: 1, auc: 1, users: 2, k: 10 });
  });

  it('ranks playlists a model does not know last, and gives a user it does not know no list', () => {
    // d unknown to the model: u2's relevant playlist cannot be found (NDCG 0, AUC 0); u1 unknown: NDCG 0, AUC ½
    const m = model({ a: [0, 1], b: [0, 1], c: [0, 1] }, { u2: [0, 1] });
    expect(evaluateHeldOut(m, data)).toEqual({ ndcg: 0, recall: 0, auc: 0.25, users: 2, k: 10 });
    expect(evaluateHeldOut(undefined, data)).toEqual({ ndcg: 0, recall: 0, auc: 0.5, users: 2, k: 10 });
  });

  it('takes the same users for every model when it evaluates a sample', () => {
    const many = { ...data, heldOut: Array.from({ length: 50 }, (_, i) => ({ userId: `x${i}`, relevant: ['a'] })) };
    const a = evaluationUsers(many, 10);
    expect(a).toHaveLength(10);
    expect(evaluationUsers({ ...many, heldOut: [...many.heldOut].reverse() }, 10)).toEqual(a);
  });
});
