import { describe, expect, it } from 'vitest';
import { createMemoryCatalog, playlistCentroid } from './catalog.js';
import { cooccurrenceScores, createRanker, DEFAULT_COOCCURRENCE } from './ranker.js';
import type { PlaylistInfo, RankingUser } from './types.js';

const VEC: Record<string, Float32Array> = {
  rock1: Float32Array.of(1, 0), rock2: Float32Array.of(1, 0), rock3: Float32Array.of(0.98, 0.2),
  jazz1: Float32Array.of(0, 1), jazz2: Float32Array.of(0, 1), mix: Float32Array.of(0.7, 0.7),
};

function playlist(id: string, owner: string, tracks: string[], extra: Partial<PlaylistInfo> = {}): PlaylistInfo {
  return { id, owner, tracks, followers: 0, engagement: 0, organic: true, centroid: playlistCentroid(tracks, (t) => VEC[t], 2), ...extra };
}

function user(over: Partial<RankingUser> & { heardTracks?: string[] } = {}): RankingUser {
  const heard = new Set(over.heardTracks ?? ['rock1']);
  return { id: 'me', taste: Float32Array.of(1, 0), hasSignal: true, heard: (t) => heard.has(t), excluded: new Set(), ...over };
}

const playlists = [
  playlist('p-rock', 'alice', ['rock2', 'rock3']),
  playlist('p-jazz', 'bob', ['jazz1', 'jazz2']),
  playlist('p-old', 'alice', ['rock1']),
  playlist('p-mine', 'me', ['rock2']),
  playlist('p-editorial', 'carol', ['rock2', 'rock3'], { organic: false }),
  playlist('p-followed', 'zed', ['rock3', 'mix'], { followers: 5 }),
  playlist('p-popular', 'zed', ['jazz1'], { followers: 1000, engagement: 50 }),
  playlist('p-popular2', 'yan', ['mix'], { followers: 100 }),
];
const catalog = createMemoryCatalog(playlists, [{ user: 'carol', playlist: 'p-followed' }, { user: 'carol', playlist: 'p-editorial' }]);
const buddies = [
  { id: 'alice', score: 0.9 },
  { id: 'carol', score: 0.8 },
  { id: 'bob', score: 0.1 },
];

describe('createRanker', () => {
  const ranker = createRanker({ mmrLambda: 1 });

  it("recommends buddies' organic playlists, never the user's own, and explains each", () => {
    const recs = ranker.rank({ user: user(), buddies, catalog, k: 3 });
    const ids = recs.map((r) => r.playlistId);
    expect(ids).not.toContain('p-mine');
    expect(ids).not.toContain('p-editorial');
    expect(ids[0]).toBe('p-rock');
    expect(recs[0]!.explanation).toMatchObject({ reason: 'buddy', buddy: 'alice', relation: 'made' });
    expect(recs[0]!.explanation.tasteMatch).toBe(99); // cos((1,0), mean((1,0), (0.98,0.2)))
    const followed = recs.find((r) => r.playlistId === 'p-followed')!;
    expect(followed.explanation).toMatchObject({ buddy: 'carol', relation: 'follows' });
    expect(followed.explanation.tasteMatch).toBeGreaterThan(0);
    expect(followed.explanation.tasteMatch).toBeLessThan(100);
  });

  it('leaves out excluded playlists (owned, followed, dismissed, shown without reaction)', () => {
    const recs = ranker.rank({ user: user({ excluded: new Set(['p-rock', 'p-followed']) }), buddies, catalog, k: 10 });
    const ids = recs.map((r) => r.playlistId);
    expect(ids).not.toContain('p-rock');
    expect(ids).not.toContain('p-followed');
    // Buddies' remaining playlists come first, then popular ones fill up.
    expect(ids.slice(0, 2).sort()).toEqual(['p-jazz', 'p-old']);
    expect(recs.slice(2).every((r) => r.explanation.reason === 'popular')).toBe(true);
  });

  it('prefers unheard tracks when novelty is weighted', () => {
    const novel = createRanker({ mmrLambda: 1, weights: { novelty: 10, familiarity: 0, buddy: 0, support: 0 } });
    const ids = novel.rank({ user: user({ heardTracks: ['rock1'] }), buddies: [{ id: 'alice', score: 0.9 }], catalog, k: 2 }).map((r) => r.playlistId);
    expect(ids).toEqual(['p-rock', 'p-old']);
  });

  it("counts the other buddies' evidence for a playlist's unheard tracks (support)", () => {
    const cat = createMemoryCatalog([
      playlist('a', 'u1', ['rock2', 'jazz1']),
      playlist('b', 'u2', ['rock3', 'jazz2']),
      playlist('c', 'u3', ['rock2', 'mix']),
    ]);
    const supp = createRanker({ mmrLambda: 1, weights: { support: 1, novelty: 0, familiarity: 0, buddy: 0 } });
    const bs = [{ id: 'u1', score: 0.5 }, { id: 'u2', score: 0.5 }, { id: 'u3', score: 0.5 }];
    const recs = supp.rank({ user: user({ heardTracks: [] }), buddies: bs, catalog: cat, k: 3 });
    // rock2 is in a and c: each of them is half backed by the other; b shares nothing.
    expect(recs.map((r) => r.playlistId).slice(0, 2).sort()).toEqual(['a', 'c']);
    expect(recs[0]!.components.support).toBeCloseTo(0.5 * (0.5 / 1), 6);
    expect(recs[2]!.components.support).toBe(0);
  });

  it('uses BPR scores when a scorer is given', () => {
    const bprRanker = createRanker({ mmrLambda: 1, weights: { bpr: 100 } });
    const recs = bprRanker.rank({
      user: user(), buddies, catalog, k: 1,
      bpr: (_u, ids) => Float32Array.from(ids, (id) => (id === 'p-jazz' ? 5 : -5)),
    });
    expect(recs[0]!.playlistId).toBe('p-jazz');
  });

  it('diversifies with MMR: a near-duplicate drops below a different playlist', () => {
    const cat = createMemoryCatalog([
      playlist('r1', 'u1', ['rock1', 'rock2']),
      playlist('r2', 'u2', ['rock2', 'rock3']),
      playlist('j', 'u3', ['jazz1', 'mix']),
    ]);
    const bs = [{ id: 'u1', score: 0.9 }, { id: 'u2', score: 0.85 }, { id: 'u3', score: 0.6 }];
    const me = user({ heardTracks: [] });
    const w = { buddy: 1, familiarity: 0, novelty: 0, support: 0 };
    expect(createRanker({ mmrLambda: 1, weights: w }).rank({ user: me, buddies: bs, catalog: cat, k: 3 }).map((r) => r.playlistId)).toEqual(['r1', 'r2', 'j']);
    expect(createRanker({ mmrLambda: 0.3, weights: w }).rank({ user: me, buddies: bs, catalog: cat, k: 3 }).map((r) => r.playlistId)).toEqual(['r1', 'j', 'r2']);
  });

  it('falls back to popular playlists for a cold user (followers and engagement)', () => {
    const recs = ranker.rank({ user: user({ hasSignal: false, excluded: new Set(['p-popular2']) }), buddies, catalog, k: 2 });
    expect(recs.map((r) => r.playlistId)).toEqual(['p-popular', 'p-followed']);
    expect(recs.every((r) => r.explanation.reason === 'popular')).toBe(true);
  });

  it('validates its options at once', () => {
    expect(() => createRanker({ weights: { novelty: -1 } })).toThrow(RangeError);
    expect(() => createRanker({ weights: { foo: 1 } as never })).toThrow(/unknown ranking weight/);
    expect(() => createRanker({ mmrLambda: 2 })).toThrow(RangeError);
    expect(() => ranker.rank({ user: user(), buddies, catalog, k: -1 })).toThrow(RangeError);
  });
});

describe('cooccurrenceScores (RP3beta over the candidates)', () => {
  // h is heard; A and B hold it, so their unheard tracks gain weight, and C through x, which it shares with A
  const candidates = [
    playlist('A', 'a', ['h', 'x']),
    playlist('B', 'b', ['h', 'y', 'z']),
    playlist('C', 'c', ['x', 'w']),
    playlist('D', 'd', ['q']),
  ];
  const world = createMemoryCatalog(candidates);
  const lists = candidates.map((p) => p.tracks);

  it('spreads heard tracks to the candidates holding them and on to their unheard tracks, best candidate 1', () => {
    const got = cooccurrenceScores(user({ heardTracks: ['h'] }), lists, DEFAULT_COOCCURRENCE);
    // by hand, alpha 0.5, beta 0.5, gamma 2, length power 1.1; df over the candidates: h 2, x 2, others 1
    const x = (2 ** -0.5 * 2 ** -0.5) / 2 ** 0.5; // weight A passes to x, over df(x)^beta
    const yz = 2 ** -0.5 * 3 ** -0.5;
    const raw = [x ** 2 / 2 ** 1.1, (2 * yz ** 2) / 3 ** 1.1, x ** 2 / 2 ** 1.1, 0];
    const hi = Math.max(...raw);
    expect([...got].map((v) => Number(v.toFixed(12)))).toEqual(raw.map((v) => Number((v / hi).toFixed(12))));
    expect(got[1]).toBe(1);
    expect(got[2]).toBeGreaterThan(0); // C shares no heard track, only a co-occurring one
  });

  it('is all zeros when no candidate holds a heard track', () => {
    expect([...cooccurrenceScores(user({ heardTracks: ['nothing'] }), lists, DEFAULT_COOCCURRENCE)]).toEqual([0, 0, 0, 0]);
  });

  it('orders candidates when it is the only term, and rejects bad options', () => {
    const only = createRanker({ mmrLambda: 1, weights: { familiarity: 0, novelty: 0, buddy: 0, support: 0, cooccurrence: 1 } });
    const recs = only.rank({ user: user({ heardTracks: ['h'] }), buddies: ['a', 'b', 'c', 'd'].map((id) => ({ id, score: 0.5 })), catalog: world, k: 4 });
    expect(recs.map((r) => r.playlistId)).toEqual(['B', 'A', 'C', 'D']);
    expect(recs.map((r) => Number(r.components.cooccurrence.toFixed(6)))).toEqual([1, 0.585776, 0.585776, 0]);
    expect(() => createRanker({ cooccurrence: { gamma: 0 } })).toThrow(/gamma/);
    expect(() => createRanker({ cooccurrence: { beta: -1 } })).toThrow(/beta/);
    expect(() => createRanker({ cooccurrence: { delta: 1 } as never })).toThrow(/unknown co-occurrence option/);
  });
});
