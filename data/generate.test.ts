import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../models/random.js';
import { createLoadReport, createWorldModel, generateWorld, readInteractions, readMpdDir, WorldExistsError, WorldOptionsError, type GenerateSummary, type MpdPlaylist } from './index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'buddies-gen-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const small = { users: 100, playlists: 2500, seed: 7 } as const;

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.set(join(e.parentPath, e.name).slice(dir.length), await readFile(join(e.parentPath, e.name)));
  }
  return out;
}

describe('generateWorld', () => {
  let a: GenerateSummary;
  let dirA: string;
  beforeAll(async () => {
    dirA = join(root, 'a');
    a = await generateWorld({ ...small, out: dirA });
  });

  it('same seed ⇒ byte-identical files; another seed ⇒ different files', async () => {
    const dirB = join(root, 'b');
    const dirC = join(root, 'c');
    await generateWorld({ ...small, out: dirB });
    await generateWorld({ ...small, seed: 8, out: dirC });
    const [fa, fb, fc] = await Promise.all([filesOf(dirA), filesOf(dirB), filesOf(dirC)]);
    expect([...fa.keys()].sort()).toEqual([...fb.keys()].sort());
    expect(fa.size).toBeGreaterThanOrEqual(10);
    for (const [name, bytes] of fa) expect(bytes.equals(fb.get(name) as Buffer), name).toBe(true);
    expect((fa.get('/mpd.slice.0-999.json') as Buffer).equals(fc.get('/mpd.slice.0-999.json') as Buffer)).toBe(false);
  });

  it('writes MPD slices of 1000 in the full schema that the loader reads back without rejections', async () => {
    expect(a.counts.slices).toBe(3);
    const names = (await readdir(dirA)).filter((n) => n.startsWith('mpd.slice.'));
    expect(names.sort()).toEqual(['mpd.slice.0-999.json', 'mpd.slice.1000-1999.json', 'mpd.slice.2000-2499.json']);
    const report = createLoadReport();
    const playlists: MpdPlaylist[] = [];
    for await (const p of readMpdDir(dirA, report)) playlists.push(p);
    expect(report.rejectedCount).toBe(0);
    expect(playlists.map((p) => p.pid)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(playlists.reduce((n, p) => n + p.tracks.length, 0)).toBe(a.counts.entries);
    for (const p of playlists.slice(0, 50)) {
      expect(p.tracks.length).toBeGreaterThanOrEqual(5);
      expect(p.tracks.length).toBeLessThanOrEqual(250);
      for (const t of p.tracks) expect(Object.keys(t).sort()).toEqual(['album_name', 'album_uri', 'artist_name', 'artist_uri', 'duration_ms', 'pos', 'track_name', 'track_uri']);
    }
    const mean = a.counts.entries / a.counts.playlists;
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(80);
  });

  it('plants the owners’ taste: playlist entries come mostly from the owner’s communities', async () => {
    const model = createWorldModel(small);
    const owners = new Map((await readFile(join(dirA, 'owners.tsv'), 'utf8')).trim().split('\n').map((l) => l.split('\t') as [string, string]).map(([pid, u]) => [Number(pid), u]));
    let inTaste = 0;
    let total = 0;
    for await (const p of readMpdDir(join(dirA, 'mpd.slice.0-999.json'), createLoadReport())) {
      const owner = model.userIndexOfId(owners.get(p.pid) as string) as number;
      const taste = new Set(model.user(owner).communities);
      for (const t of p.tracks) {
        const idx = model.trackIndexOfUri(t.track_uri);
        expect(idx).toBeDefined();
        total++;
        if (taste.has(model.track(idx as number).community)) inTaste++;
      }
    }
    // 10% noise, part of which lands in the taste by chance
    expect(inTaste / total).toBeGreaterThan(0.88);
  });

  it('writes triplets, follows and truth consistent with each other', async () => {
    const model = createWorldModel(small);
    const report = createLoadReport();
    const users = new Set<string>();
    let inTaste = 0;
    for await (const row of readInteractions(join(dirA, 'triplets.tsv'), 'triplets', report)) {
      users.add(row.user);
      const t = model.trackIndexOfUri(row.item);
      const u = model.userIndexOfId(row.user);
      expect(t).toBeDefined();
      expect(u).toBeDefined();
      if (model.user(u as number).communities.includes(model.track(t as number).community)) inTaste++;
    }
    expect(report.records).toBe(a.counts.triplets);
    expect(report.rejectedCount).toBe(0);
    expect(users.size).toBe(100);
    expect(inTaste / a.counts.triplets).toBeGreaterThan(0.88);

    const truth = (await readFile(join(dirA, 'truth/users.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { user: string; communities: number[]; weights: number[] });
    expect(truth).toHaveLength(100);
    for (const t of truth) {
      expect(t.communities).toEqual(model.user(model.userIndexOfId(t.user) as number).communities);
      expect(t.weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
    }
    const follows = (await readFile(join(dirA, 'follows.tsv'), 'utf8')).trim().split('\n');
    expect(follows).toHaveLength(a.counts.follows);
    const manifest = JSON.parse(await readFile(join(dirA, 'world.json'), 'utf8')) as { counts: unknown; files: Array<{ path: string }> };
    expect(manifest.counts).toEqual(a.counts);
    expect(manifest.files.map((f) => f.path)).toContain('truth/tracks.tsv');
  });

  it('writes gzip slices and triplets the loaders read', async () => {
    const dir = join(root, 'gz');
    const s = await generateWorld({ users: 20, playlists: 30, seed: 1, gzip: true, out: dir });
    const report = createLoadReport();
    let n = 0;
    for await (const _ of readMpdDir(dir, report)) n++;
    for await (const _ of readInteractions(join(dir, 'triplets.tsv.gz'), 'triplets', report)) n++;
    expect(n).toBe(30 + s.counts.triplets);
    expect(report.rejectedCount).toBe(0);
  });

  it('refuses to write over an existing world unless overwrite, and then leaves no stale slice', async () => {
    const dir = join(root, 'over');
    await generateWorld({ users: 10, playlists: 25, seed: 1, sliceSize: 10, out: dir });
    await expect(generateWorld({ users: 10, playlists: 5, seed: 1, sliceSize: 10, out: dir })).rejects.toBeInstanceOf(WorldExistsError);
    await generateWorld({ users: 10, playlists: 5, seed: 1, sliceSize: 10, out: dir, overwrite: true });
    expect((await readdir(dir)).filter((n) => n.startsWith('mpd.slice.'))).toEqual(['mpd.slice.0-4.json']);
  });

  it('rejects options that make no world', async () => {
    await expect(generateWorld({ users: 0, playlists: 1, seed: 1, out: join(root, 'x') })).rejects.toBeInstanceOf(WorldOptionsError);
    await expect(generateWorld({ users: 5, playlists: 1, seed: -1, out: join(root, 'x') })).rejects.toThrow(/seed/);
    await expect(generateWorld({ users: 5, playlists: 1, seed: 1, noise: 2, out: join(root, 'x') })).rejects.toThrow(/noise/);
  });
});

describe('createWorldModel', () => {
  it('decodes its own URIs and ids and rejects others', () => {
    const m = createWorldModel({ users: 1000, playlists: 10, seed: 3 });
    for (const i of [0, 1, 17, 999]) expect(m.trackIndexOfUri(m.track(i).uri)).toBe(i);
    expect(m.trackIndexOfUri('spotify:track:0UaMYEvWZi0ZqiDOoHU3YI')).toBeUndefined();
    expect(createWorldModel({ users: 1000, playlists: 10, seed: 4 }).trackIndexOfUri(m.track(5).uri)).toBeUndefined();
    expect(m.userIndexOfId(m.userId(42))).toBe(42);
    expect(m.userIndexOfId('u42')).toBeUndefined(); // ids are zero-padded: u042
  });

  it('track popularity within a community follows the Zipf rank', () => {
    const m = createWorldModel({ users: 100, playlists: 10, seed: 3, communities: 4, tracks: 4000 });
    const counts = new Map<number, number>();
    const rng = createRng(11);
    for (let i = 0; i < 50_000; i++) {
      const t = m.sampleTrack(2, rng);
      const { community, rank } = i < 100 ? m.track(t) : { community: t % 4, rank: Math.floor(t / 4) };
      expect(community).toBe(2);
      counts.set(rank, (counts.get(rank) ?? 0) + 1);
    }
    const c0 = counts.get(0) ?? 0;
    const c9 = counts.get(9) ?? 0;
    expect(c0 / c9).toBeGreaterThan(6);
    expect(c0 / c9).toBeLessThan(14);
  });
});
