import { describe, expect, it } from 'vitest';
import { createBpr } from '../models/bpr/index.js';
import { buildInteractionMatrix } from '../models/interactions.js';
import { warmStartPlan } from './warm-start.js';

const rows = (pairs: ReadonlyArray<readonly [string, string]>) => pairs.map(([user, item]) => ({ user, item, weight: 1 }));

describe('warm start from the production model (issue 10)', () => {
  it('keeps the factors of known users and playlists, initialises new ones, and leaves out those not in the window', async () => {
    const old = await buildInteractionMatrix(rows([['u1', 'a'], ['u1', 'b'], ['u2', 'b'], ['u2', 'c'], ['gone', 'a']]));
    const prod = await createBpr({ backend: 'cpu', factors: 8, epochs: 5, seed: 1 });
    await prod.fit(old);
    const production = prod.model;
    const next = await buildInteractionMatrix(rows([['u1', 'a'], ['u2', 'c'], ['new', 'd'], ['new', 'a']]));
    const plan = warmStartPlan(production, next.users.ids, next.items.ids, { factors: 8, itemBias: true });
    expect(plan).toEqual({ warm: true, knownUsers: 2, newUsers: 1, knownItems: 2, newItems: 1, droppedUsers: 1, droppedItems: 1 });
    // models/bpr's warmStart does the id mapping: a step too small to move anything shows the starting point
    const cand = await createBpr({ backend: 'cpu', factors: 8, epochs: 1, seed: 2, learningRate: 1e-12 });
    await cand.fit(next, { warmStart: production });
    const f = cand.model;
    const row = (m: typeof f, kind: 'users' | 'items', id: string) => {
      const i = m[kind].indexOf(id)!;
      const a = kind === 'users' ? m.userFactors : m.itemFactors;
      return Array.from(a.subarray(i * m.stride, (i + 1) * m.stride));
    };
    for (const u of ['u1', 'u2']) expect(row(f, 'users', u)).toEqual(row(production, 'users', u).map((x) => expect.closeTo(x, 5)));
    for (const i of ['a', 'c']) expect(row(f, 'items', i)).toEqual(row(production, 'items', i).map((x) => expect.closeTo(x, 5)));
    // new ones start like a cold start: small random values (±0.5 / factors), item bias 0
    for (const x of row(f, 'items', 'd').slice(0, 8)) expect(Math.abs(x)).toBeLessThanOrEqual(0.5 / 8);
    expect(row(f, 'items', 'd')[8]).toBeCloseTo(0, 6);
    expect(f.users.indexOf('gone')).toBeUndefined();
  });

  it('falls back to a cold start, saying why, when there is no production model or its layout differs', () => {
    expect(warmStartPlan(undefined, ['u'], ['i'], { factors: 8, itemBias: true })).toMatchObject({ warm: false, reason: 'no production model', newUsers: 1, newItems: 1 });
    const f = { factors: 4, itemBias: true } as Parameters<typeof warmStartPlan>[0];
    expect(warmStartPlan(f, ['u'], ['i'], { factors: 8, itemBias: true })).toMatchObject({ warm: false, reason: expect.stringMatching(/4 factors .* 8/) });
  });
});
