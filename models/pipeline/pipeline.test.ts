import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { createTasteModel, meanTaste } from '../taste/index.js';
import { buildPlaylistPipeline, type PipelinePlaylist } from './pipeline.js';
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

  it('the offline mean taste equals the incremental taste model fed like events at one time', () => {
    const vs = [Float32Array.of(1, 0, 0), Float32Array.of(0.6, 0.8, 0), Float32Array.of(0, 0, 1)];
    const model = createTasteModel({ dims: 3 });
    const s = vs.reduce((st, v, i) => model.update(st, { kind: 'like', itemId: `t${i}`, vector: v, at: 1000 }), model.empty());
    const a = model.vector(s)!;
    const b = meanTaste(vs, 3)!;
    for (let i = 0; i < 3; i++) expect(a[i]).toBeCloseTo(b[i]!, 6);
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
