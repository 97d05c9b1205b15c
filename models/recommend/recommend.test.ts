import { describe, expect, it } from 'vitest';
import { createExactIndex } from '../pairing/index.js';
import { createMemoryCatalog, createRanker, type PlaylistInfo, type RankingUser } from '../ranking/index.js';
import { createRng } from '../random.js';
import { countWeight, createRecommender, findBuddies, findBuddiesMany, historyTaste, offlineTasteModel, popularPicks, popularPlaylists, randomPicks, randomPlaylists } from './index.js';

describe('popularPicks', () => {
  it('keeps the order and skips what is rejected', () => {
    expect(popularPicks([5, 4, 3, 2, 1], 3, (x) => x === 4)).toEqual([5, 3, 2]);
    expect(popularPicks(['a', 'b'], 5, () => false)).toEqual(['a', 'b']);
    expect(popularPicks(['a'], 0, () => false)).toEqual([]);
  });
});

describe('randomPicks', () => {
  it('draws k distinct indices that are not skipped, seeded', () => {
    const a = randomPicks(100, 10, (i) => i % 2 === 0, createRng(7).next);
    expect(a).toHaveLength(10);
    expect(new Set(a).size).toBe(10);
    expect(a.every((i) => i % 2 === 1 && i < 100)).toBe(true);
    expect(randomPicks(100, 10, (i) => i % 2 === 0, createRng(7).next)).toEqual(a);
    expect(randomPicks(100, 10, (i) => i % 2 === 0, createRng(8).next)).not.toEqual(a);
  });

  it('returns every eligible index when k exceeds them, and ends when all are skipped', () => {
    expect(randomPicks(6, 10, (i) => i === 2, createRng(1).next).sort()).toEqual([0, 1, 3, 4, 5]);
    expect(randomPicks(1000, 5, () => true, createRng(1).next)).toEqual([]);
    expect(randomPicks(0, 5, () => false, createRng(1).next)).toEqual([]);
  });

  it('is uniform over the eligible indices', () => {
    const rng = createRng(3);
    const counts = [0, 0, 0, 0, 0];
    for (let t = 0; t < 8000; t++) for (const i of randomPicks(5, 2, (x) => x === 0, rng.next)) counts[i]!++;
    expect(counts[0]).toBe(0);
    for (const c of counts.slice(1)) expect(Math.abs(c - 4000)).toBeLessThan(250);
  });
});

const info = (id: string, owner: string, followers: number, centroid?: Float32Array, organic = true, tracks: string[] = []): PlaylistInfo => ({
  id, owner, tracks, followers, engagement: 0, organic, centroid,
});

describe('playlist baselines', () => {
  const catalog = createMemoryCatalog([
    info('a', 'x', 100),
    info('b', 'me', 90),
    info('c', 'y', 80, undefined, false),
    info('d', 'y', 70, Float32Array.of(0.5, 0)),
    info('e', 'z', 60),
    info('f', 'z', 50),
  ]);
  const me = { id: 'me', taste: Float32Array.of(1, 0), excluded: new Set(['e']) };

  it('popular: the most followed organic playlists, never the user’s own nor excluded ones', () => {
    const recs = popularPlaylists(catalog, me, 3);
    expect(recs.map((r) => r.playlistId)).toEqual(['a', 'd', 'f']);
    expect(recs.every((r) => r.explanation.reason === 'popular')).toBe(true);
    expect(recs[1]!.explanation.tasteMatch).toBe(100);
  });

  it('random: distinct eligible playlists, seeded', () => {
    const recs = randomPlaylists(catalog, me, 10, createRng(2).next);
    expect(recs.map((r) => r.playlistId).sort()).toEqual(['a', 'd', 'f']);
    expect(randomPlaylists(catalog, me, 2, createRng(5).next)).toEqual(randomPlaylists(catalog, me, 2, createRng(5).next));
    expect(recs.map((r) => r.score)).toEqual([1, 1 / 2, 1 / 3]);
  });
});

/** Two genres on the axes of 2-d space: owners o0..o5 (even: genre x, odd: genre y), each with one playlist p0..p5. */
function twoGenres() {
  const unit = (g: number, j: number) => (g === 0 ? Float32Array.of(1, 0.05 * j) : Float32Array.of(0.05 * j, 1));
  const catalog = createMemoryCatalog(
    Array.from({ length: 6 }, (_, i) => info(`p${i}`, `o${i}`, 10 - i, unit(i % 2, i), true, [`g${i % 2}-t${i}`, `g${i % 2}-t${i + 1}`])),
  );
  const index = createExactIndex({ dims: 2, threads: 1 });
  for (let i = 0; i < 6; i++) index.upsert(`o${i}`, unit(i % 2, i));
  return { catalog, index };
}

const userOf = (id: string, taste: Float32Array | undefined, excluded: string[] = []): RankingUser => ({ id, taste, hasSignal: taste !== undefined, heard: () => false, excluded: new Set(excluded) });

describe('createRecommender', () => {
  it("buddies: the user's nearest tastes, candidates from them, ranked and explained; the same one by one and in a batch", async () => {
    const { catalog, index } = twoGenres();
    const rec = createRecommender({ catalog, index: () => index }, { ranker: createRanker(), buddies: 3 });
    const users = [userOf('u', Float32Array.of(0.1, 1), ['p1']), userOf('v', Float32Array.of(1, 0)), userOf('new', undefined)];
    const one = users.map((u) => rec.recommend(u, 2));
    expect(await rec.recommendMany(users, 2)).toEqual(one);
    expect(one[0]!.buddies.map((b) => b.id).sort()).toEqual(['o1', 'o3', 'o5']);
    expect(one[0]!.recs.map((r) => r.playlistId).sort()).toEqual(['p3', 'p5']);
    for (const r of one[0]!.recs) expect(r.explanation).toMatchObject({ reason: 'buddy', buddy: `o${r.playlistId.slice(1)}`, relation: 'made' });
    expect(one[1]!.recs.every((r) => Number(r.playlistId.slice(1)) % 2 === 0)).toBe(true);
    // no taste: no buddies, popular lists
    expect(one[2]!.buddies).toEqual([]);
    expect(one[2]!.recs.map((r) => r.explanation.reason)).toEqual(['popular', 'popular']);
    expect(findBuddies(index, users[0]!, 3)).toEqual(one[0]!.buddies);
    expect(await findBuddiesMany(undefined, users, 3)).toEqual([[], [], []]);
    await index.close();
  });

  it('passes the BPR scorer in use to the ranker', () => {
    const { catalog, index } = twoGenres();
    const inUse: { bpr?: { score: (u: string, p: readonly string[]) => Float32Array } } = {};
    const rec = createRecommender({ catalog, index: () => index, bpr: () => inUse.bpr }, { ranker: createRanker({ weights: { bpr: 100 } }), buddies: 3 });
    const u = userOf('u', Float32Array.of(0, 1));
    expect(rec.recommend(u, 3).recs.every((r) => r.components.bpr === 0)).toBe(true);
    inUse.bpr = { score: (_user, ps) => Float32Array.from(ps, (p) => (p === 'p5' ? 10 : -10)) };
    const recs = rec.recommend(u, 3).recs;
    expect(recs[0]!.playlistId).toBe('p5');
    expect(recs[0]!.components.bpr).toBeGreaterThan(0.99);
  });

  it("the 'popular' and 'random' strategies are the baselines, with no buddies", async () => {
    const { catalog, index } = twoGenres();
    const u = userOf('o0', Float32Array.of(1, 0), ['p1']);
    const popular = createRecommender({ catalog, index: () => index }, { strategy: 'popular', buddies: 3 });
    expect(popular.recommend(u, 3)).toEqual({ recs: popularPlaylists(catalog, u, 3), buddies: [] });
    expect(popular.recommend(u, 3).recs.map((r) => r.playlistId)).toEqual(['p2', 'p3', 'p4']);
    const random = createRecommender({ catalog, index: () => index }, { strategy: 'random', buddies: 3, random: createRng(4).next });
    const [r] = await random.recommendMany([u], 3);
    expect(r).toEqual({ recs: randomPlaylists(catalog, u, 3, createRng(4).next), buddies: [] });
    expect(() => createRecommender({ catalog, index: () => index }, { strategy: 'best' as never, buddies: 3 })).toThrow(RangeError);
    expect(() => createRecommender({ catalog, index: () => index }, { buddies: 0 })).toThrow(RangeError);
  });
});

describe('offline taste', () => {
  it('weighs play counts by log(1 + count) by default; an item without a vector counts for nothing', () => {
    expect(countWeight(0)).toBe(0);
    expect(countWeight(Math.E - 1)).toBeCloseTo(1, 12);
    expect(countWeight(7, 'linear')).toBe(7);
    expect(countWeight(7, 'binary')).toBe(1);
    expect(() => countWeight(1, 'sqrt' as never)).toThrow(RangeError);
    const model = offlineTasteModel(2, 2);
    const vs: Record<string, Float32Array> = { a: Float32Array.of(1, 0), b: Float32Array.of(0, 1) };
    const s = historyTaste(model, [{ item: 'a', weight: countWeight(3) }, { item: 'b', weight: countWeight(15) }, { item: 'zzz', weight: 9 }], (t) => vs[t]);
    const v = model.vector(s)!;
    expect(v[1]! / v[0]!).toBeCloseTo(Math.log(16) / Math.log(4), 5);
    expect(model.hasSignal(s)).toBe(true);
    expect(s.recent.items).toEqual([]);
  });
});
