import { describe, expect, it } from 'vitest';
import type { PipelinePlaylist } from '../pipeline/index.js';
import { formatMpdTable, runMpdEval } from './mpd-eval.js';
import { idfOverlapBaseline, mpdSplitJson, mpdSplits, popularityBaseline, randomBaseline, scoreMpd, splitMpd, type MpdQuery } from './mpd-protocol.js';

const pl = (id: string, tracks: string[], followers = 0): PipelinePlaylist => ({ id, owner: `o${id}`, tracks, followers });

describe('splitMpd', () => {
  it('keeps playlists with enough unique tracks, halves them in order and removes queries from the corpus', () => {
    const all = [pl('a', ['1', '2', '2', '3', '4', '5']), pl('b', ['1', '2']), pl('c', ['6', '7', '8', '9'])];
    const { corpus, queries } = splitMpd(all, { queries: 5, minTracks: 4, seed: 1 });
    expect(queries.map((q) => q.playlist).sort()).toEqual(['a', 'c']);
    const a = queries.find((q) => q.playlist === 'a')!;
    expect(a.tracks).toEqual(['1', '2']);
    expect([...a.hidden]).toEqual(['3', '4', '5']);
    expect(a.exclude).toEqual(['a']);
    expect(corpus.map((p) => p.id)).toEqual(['b']);
  });
});

describe('mpdSplits', () => {
  it('draws validation queries from the test split\'s corpus only, and exports both as plain JSON', () => {
    const all = Array.from({ length: 30 }, (_, i) => pl(String(i), Array.from({ length: 6 }, (_, j) => `t${(i + j * 3) % 20}`)));
    const { test, validation } = mpdSplits(all, { queries: 5, minTracks: 4, seed: 7 });
    expect(test).toEqual(splitMpd(all, { queries: 5, minTracks: 4, seed: 7 }));
    expect(validation).toEqual(splitMpd(test.corpus, { queries: 5, minTracks: 4, seed: 8 }));
    const testIds = new Set(test.queries.map((q) => q.playlist));
    expect(validation.queries.some((q) => testIds.has(q.playlist))).toBe(false);
    expect(validation.corpus.some((p) => testIds.has(p.id))).toBe(false);
    const json = mpdSplitJson(validation, { on: 'validation' });
    expect(json.on).toBe('validation');
    expect(json.corpus).toHaveLength(20);
    const q = validation.queries[0]!;
    expect(json.queries[0]).toEqual({ playlist: q.playlist, known: [...q.tracks], hidden: [...q.hidden] });
    // JSON round trip keeps every field
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('scoreMpd', () => {
  it('computes hidden share, hit rate and coverage over k slots', () => {
    const q: MpdQuery = { user: 'u', playlist: 'q', tracks: ['x'], hidden: new Set(['h1', 'h2', 'h3', 'h4']), exclude: ['q'] };
    const tracks: Record<string, string[]> = { p1: ['h1', 'h2', 'z', 'z2'], p2: ['h1', 'y'], p3: ['n'] };
    const m = scoreMpd([['p1', 'p2', 'p3']], [q], (id) => tracks[id], 4);
    expect(m.hiddenShare).toBeCloseTo((0.5 + 0.5 + 0) / 4, 10);
    expect(m.hitRate).toBeCloseTo(2 / 4, 10);
    expect(m.coverage).toBeCloseTo(2 / 4, 10);
    expect(() => scoreMpd([['q']], [q], () => [], 4)).toThrow(/excluded/);
  });
});

describe('baselines', () => {
  const corpus = [pl('p1', ['rare', 'x'], 1), pl('p2', ['common', 'y'], 50), pl('p3', ['common', 'z'], 10), pl('p4', ['common', 'w'], 5)];
  const q: MpdQuery = { user: 'u', playlist: 'q', tracks: ['rare', 'common'], hidden: new Set(['x']), exclude: ['p3'] };

  it('IDF overlap ranks a rare shared track above a common one and honours exclude', async () => {
    const [recs] = await idfOverlapBaseline(corpus)([q], 3);
    expect(recs![0]).toBe('p1');
    expect(recs).not.toContain('p3');
    expect(recs).toHaveLength(3);
  });

  it('popularity and random never return excluded playlists', async () => {
    expect((await popularityBaseline(corpus)([q], 2))[0]).toEqual(['p2', 'p4']);
    const [r] = await randomBaseline(corpus, 3)([q], 3);
    expect(r).not.toContain('p3');
  });
});

describe('runMpdEval', () => {
  it('runs the pipeline and the baselines in one run and formats a table', async () => {
    const playlists: PipelinePlaylist[] = [];
    for (let i = 0; i < 60; i++) {
      const g = i % 3;
      playlists.push(pl(String(i), Array.from({ length: 12 }, (_, j) => `g${g}-${(i * 5 + j * 7) % 25}`), i % 7));
    }
    const bpr = { model: { factors: 4, epochs: 20 } };
    const r = await runMpdEval(playlists, { queries: 10, minTracks: 8, dims: 4, buddies: 10, methods: ['ppmi-svd'], ablations: false, threads: 1, embeddings: { minCount: 1 }, bpr });
    expect(r.rows.map((x) => x.method)).toEqual(['pipeline (ppmi-svd)', 'pipeline (ppmi-svd) with trained BPR', 'idf-overlap baseline', 'popularity', 'random']);
    expect(r.corpus).toEqual({ playlists: 50, queries: 10, eligible: 60 });
    // Genre-coherent data: the pipeline, with BPR or without, finds playlists of the query's genre far more often than random.
    expect(r.rows[0]!.metrics.hitRate).toBeGreaterThan(r.rows[4]!.metrics.hitRate);
    expect(r.rows[1]!.metrics.hitRate).toBeGreaterThan(r.rows[4]!.metrics.hitRate);
    expect(formatMpdTable(r).split('\n')).toHaveLength(2 + 5 + 1);
  });

  it('on validation scores queries drawn from the test split\'s corpus, never a test query', async () => {
    const playlists: PipelinePlaylist[] = [];
    for (let i = 0; i < 60; i++) playlists.push(pl(String(i), Array.from({ length: 12 }, (_, j) => `g${i % 3}-${(i * 5 + j * 7) % 25}`)));
    const opts = { queries: 10, minTracks: 8, dims: 4, buddies: 10, methods: [] as const, threads: 1, bpr: false as const };
    const r = await runMpdEval(playlists, { ...opts, on: 'validation' });
    // 60 − 10 test queries (gone with their split) − 10 validation queries drawn from the 50 left: had the
    // validation queries been drawn from all 60, the corpus would hold 50
    expect(r.corpus).toEqual({ playlists: 40, queries: 10, eligible: 50 });
    expect(r.params.on).toBe('validation');
    expect((await runMpdEval(playlists, opts)).corpus).toEqual({ playlists: 50, queries: 10, eligible: 60 });
  });
});
