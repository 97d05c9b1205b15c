import { describe, expect, it } from 'vitest';
import type { InteractionWindow } from '../streams/index.js';
import { buildTrainingData, checkTrainingData, NotEnoughDataError, trainingMatrix } from './training-set.js';

const H = 3_600_000;
const win = (userId: string, k: number, items: ReadonlyArray<readonly [string, number]>): InteractionWindow => ({
  userId, windowStart: k * H, windowEnd: (k + 1) * H, interactions: items.map(([playlistId, weight]) => ({ playlistId, weight, events: 1 })),
});

const windows = [
  win('u2', 0, [['p1', 1], ['p2', 3]]),
  win('u1', 0, [['p1', 1], ['p3', -0.5]]),
  win('u1', 1, [['p3', 1]]), // p3: -0.5 + 1 > 0: a positive
  win('u3', 1, [['p2', -2]]), // only a dismissal: no positive, not a training user
  win('u1', 2, [['p1', 1], ['p4', 1], ['p5', -2]]), // held out: p1 known, p4 new (only in the held-out window)
  win('u2', 2, [['p3', 1]]),
  win('u9', 2, [['p1', 1]]), // not a training user: not evaluated
];

describe('training data from the windows (issue 10)', () => {
  it('holds out the most recent window and sums weights per user and playlist over the rest', () => {
    const d = buildTrainingData(windows, { source: 'kafka:t' });
    expect(d.users).toEqual(['u1', 'u2']);
    expect(d.items).toEqual(['p1', 'p2', 'p3']);
    expect(d.pairs).toEqual([0, 0, 0, 2, 1, 0, 1, 1]);
    expect(d.weights).toEqual([1, 0.5, 1, 3]);
    expect(d.heldOut).toEqual([{ userId: 'u1', relevant: ['p4'] }, { userId: 'u2', relevant: ['p3'] }]);
    expect(d.heldOutOnlyItems).toEqual(['p4']);
    expect([d.trainFrom, d.trainTo, d.heldOutStart, d.heldOutEnd, d.trainWindows, d.heldOutWindows]).toEqual([0, 2 * H, 2 * H, 3 * H, 4, 3]);
    const m = trainingMatrix(d);
    expect(m.nnz).toBe(4);
    expect(Array.from(m.indices.subarray(m.indptr[0]!, m.indptr[1]!))).toEqual([0, 2]);
  });

  it('gives the same snapshot and hash whatever order the windows came in', () => {
    const a = buildTrainingData(windows, { source: 'kafka:t' });
    const b = buildTrainingData([...windows].reverse(), { source: 'kafka:t' });
    expect(b).toEqual(a);
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(() => checkTrainingData(JSON.parse(JSON.stringify(a)))).not.toThrow();
    expect(() => checkTrainingData({ ...a, weights: [...a.weights.slice(0, -1), 9] })).toThrow(/does not match/);
  });

  it('raises the positive bar with minWeight', () => {
    const d = buildTrainingData(windows, { source: 'kafka:t', minWeight: 1 });
    expect(d.pairs.length / 2).toBe(1); // only u2's p2 (3) is above 1
  });

  it('says why there is nothing to train on', () => {
    expect(() => buildTrainingData([], { source: 's' })).toThrow(NotEnoughDataError);
    expect(() => buildTrainingData([win('u1', 0, [['p', 1]])], { source: 's' })).toThrow(/only one window/);
    expect(() => buildTrainingData([win('u1', 0, [['p', -1]]), win('u1', 1, [['p', 1]])], { source: 's' })).toThrow(/no positive/);
  });
});
