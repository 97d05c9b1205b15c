import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { vectorOf } from '../embeddings/index.js';
import { findBuddies, historyTaste, offlineTasteModel } from '../recommend/index.js';
import { createTasteModel } from '../taste/index.js';
import { buildPlaylistPipeline, createPlaylistIdNamer, pipelinePlaylistFromMpd, uniquePlaylistIds, type PipelinePlaylist } from './pipeline.js';
import { computeNeighbors } from './neighbors.js';

/** Playlists from 3 genres of 40 tracks; each playlist 15 tracks of one genre. */
function genreWorld(seed: number): PipelinePlaylist[] {
  const rng = createRng(seed);
  const out: PipelinePlaylist[] = [];
  for (let i = 0; i < 90; i++) {
    const g = i % 3;
    out.push({ id: String(i), owner: `o${i}`, tracks: Array.from({ length: 15 }, () => `g${g}-t${rng.int(40)}`), followers: i === 7 ? 100 : i % 5 });
  }
  return out;
}

describe('buildPlaylistPipeline', () => {
  it("recommends playlists of the query user's genre from their buddies, never an excluded one", async () => {
    const world = await buildPlaylistPipeline(genreWorld(1), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const [rec] = await world.recommend([{ user: 'u', tracks: ['g1-t1', 'g1-t2', 'g1-t3', 'g1-t4'], exclude: ['1', '4'] }], 5);
    expect(rec).toHaveLength(5);
    for (const r of rec!) {
      expect(Number(r.playlistId) % 3).toBe(1);
      expect(['1', '4']).not.toContain(r.playlistId);
      expect(r.explanation.reason).toBe('buddy');
      expect(r.explanation.buddy).toBe(`o${r.playlistId}`);
      expect(r.explanation.tasteMatch).toBeGreaterThan(50);
    }
    await world.close();
  });

  it('gives a user without known tracks the popular playlists', async () => {
    const world = await buildPlaylistPipeline(genreWorld(1), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const [rec] = await world.recommend([{ user: 'new', tracks: ['unknown-track'], exclude: [] }], 3);
    expect(rec![0]!.playlistId).toBe('7');
    expect(rec!.every((r) => r.explanation.reason === 'popular')).toBe(true);
    await world.close();
  });

  it('an offline history at one time is the taste the live model holds for the same plays: the unit (weighted) mean', () => {
    const vs: Record<string, Float32Array> = { t0: Float32Array.of(1, 0, 0), t1: Float32Array.of(0.6, 0.8, 0), t2: Float32Array.of(0, 0, 1) };
    const offline = offlineTasteModel(3);
    const live = createTasteModel({ dims: 3 });
    const history = [{ item: 't0', weight: 2 }, { item: 'unknown', weight: 5 }, { item: 't1' }, { item: 't2', weight: 0.5 }];
    const a = offline.vector(historyTaste(offline, history, (t) => vs[t]))!;
    const b = live.vector(history.reduce((st, h) => live.update(st, { kind: 'play', itemId: h.item, vector: vs[h.item], at: 7, weight: h.weight }), live.empty()))!;
    const mean = [2 * 1 + 0.6, 0.8, 0.5];
    const n = Math.hypot(...mean);
    for (let i = 0; i < 3; i++) {
      expect(a[i]).toBeCloseTo(mean[i]! / n, 6);
      expect(a[i]).toBe(b[i]);
    }
    expect(offline.hasSignal(historyTaste(offline, [{ item: 'unknown' }], (t) => vs[t]))).toBe(false);
  });

  it('recommends through the recommender core: the same lists as the core asked one user at a time (the live path)', async () => {
    const world = await buildPlaylistPipeline(genreWorld(3), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const queries = [
      { user: 'a', tracks: ['g0-t1', 'g0-t5', 'g0-t9'], exclude: ['0'] },
      { user: 'b', tracks: ['g2-t3', 'g1-t3', 'g2-t7'], exclude: [] },
    ];
    const batch = await world.recommend(queries, 4);
    const core = world.recommender();
    queries.forEach((q, i) => {
      const heard = new Set(q.tracks);
      const state = historyTaste(world.taste, q.tracks.map((item) => ({ item })), (t) => vectorOf(world.embeddings, t));
      const user = { id: q.user, taste: world.taste.vector(state), hasSignal: world.taste.hasSignal(state), heard: (t: string) => heard.has(t), excluded: new Set(q.exclude) };
      const one = core.recommend(user, 4);
      expect(one.recs).toEqual(batch[i]);
      expect(one.buddies).toEqual(findBuddies(world.index, user, 10));
    });
    await world.close();
  });
});

describe('computeNeighbors', () => {
  it('pairs users of the same genre', async () => {
    const rng = createRng(2);
    const rows: { user: string; item: string; weight: number }[] = [];
    for (let u = 0; u < 40; u++) for (let j = 0; j < 12; j++) rows.push({ user: `u${u}`, item: `g${u % 2}-a${rng.int(30)}`, weight: 1 + rng.int(50) });
    const { neighbors } = await computeNeighbors(rows, { k: 5, threads: 1, embeddings: { dims: 8, minCount: 1 } });
    expect(neighbors.size).toBe(40);
    for (const [user, ns] of neighbors) {
      expect(ns).toHaveLength(5);
      expect(ns.map((n) => n.id)).not.toContain(user);
      for (const n of ns) expect(Number(n.id.slice(1)) % 2).toBe(Number(user.slice(1)) % 2);
    }
  });
});

describe('createPlaylistIdNamer (the rule of buddies import)', () => {
  it('names a repeated id ID~2, ID~3 in the order met, one id at a time', () => {
    const ids = createPlaylistIdNamer();
    expect(['7', '8', '7', '7', '8', '9'].map((id) => ids.next(id))).toEqual(['7', '8', '7~2', '7~3', '8~2', '9']);
    expect(ids.renamed).toBe(3);
  });
});

describe('uniquePlaylistIds', () => {
  it('keeps the first playlist of an id and renames later ones with their owner, never onto an id in use', () => {
    const mpd = (pid: number, t: string) => pipelinePlaylistFromMpd({ pid, tracks: [{ track_uri: t }], num_followers: 0 });
    const input = [mpd(1, 'a'), mpd(2, 'b'), mpd(1, 'c'), { id: '1~2', owner: 'x', tracks: ['d'], followers: 0 }, mpd(1, 'e')];
    const { playlists, renamed } = uniquePlaylistIds(input);
    expect(renamed).toBe(2);
    expect(playlists.map((p) => p.id)).toEqual(['1', '2', '1~3', '1~2', '1~4']);
    expect(playlists.map((p) => p.owner)).toEqual(['mpd-owner:1', 'mpd-owner:2', 'mpd-owner:1~3', 'x', 'mpd-owner:1~4']);
    expect(playlists.map((p) => p.tracks[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(new Set(playlists.map((p) => p.id)).size).toBe(5);
    expect(uniquePlaylistIds(playlists.slice(0, 2)).renamed).toBe(0);
  });
});
