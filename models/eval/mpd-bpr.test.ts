import { describe, expect, it } from 'vitest';
import type { BprFactors } from '../bpr/index.js';
import { createIdMap } from '../interactions.js';
import type { PipelinePlaylist } from '../pipeline/index.js';
import { corpusInteractions, createMpdBprScorer, foldInUser, hiddenChances, itemScores, trainCorpusBpr } from './mpd-bpr.js';

const pl = (id: string, tracks: string[]): PipelinePlaylist => ({ id, owner: `o${id}`, tracks, followers: 0 });

/** Two genres of 10 tracks each; every playlist holds 6 tracks of one genre (a track repeated once). */
function twoGenres(): PipelinePlaylist[] {
  const out: PipelinePlaylist[] = [];
  for (let i = 0; i < 40; i++) {
    const g = i % 2 === 0 ? 'a' : 'b';
    const tracks = Array.from({ length: 6 }, (_, j) => `${g}${(i + j * 3) % 10}`);
    out.push(pl(`p${i}`, [...tracks, tracks[0]!]));
  }
  return out;
}

/** Hand-made factors: 2 latent dims plus the bias column; items x0..x2 point along dim 0, y0..y2 along dim 1. */
function handFactors(): BprFactors {
  const items = ['x0', 'x1', 'x2', 'y0', 'y1', 'y2'];
  const V = new Float32Array(items.length * 3);
  items.forEach((id, i) => V.set(id.startsWith('x') ? [1, 0, 0] : [0, 1, 0], i * 3));
  return { factors: 2, itemBias: true, stride: 3, users: createIdMap([]), items: createIdMap(items), userFactors: new Float32Array(0), itemFactors: V };
}

describe('corpusInteractions', () => {
  it('makes each playlist a user of its unique tracks, weight 1', async () => {
    const m = await corpusInteractions([pl('p', ['t1', 't2', 't1']), pl('q', ['t2'])]);
    expect(m.users.ids).toEqual(['p', 'q']);
    expect(m.items.ids).toEqual(['t1', 't2']);
    expect(m.nnz).toBe(3);
    expect([...m.weights]).toEqual([1, 1, 1]);
  });
});

describe('foldInUser', () => {
  it('fits a factor that scores the known items’ direction above the other, deterministically for a seed', () => {
    const f = handFactors();
    const u = foldInUser(f, [0, 1], { epochs: 50, seed: 5 });
    expect(u[2]).toBe(1); // the bias column stays 1
    const s = itemScores(f, u);
    expect(s[2]!).toBeGreaterThan(s[3]!); // x2 (not known, same direction) above y0
    expect([...foldInUser(f, [0, 1], { epochs: 50, seed: 5 })]).toEqual([...u]);
  });

  it('leaves a user without known items at zero', () => {
    expect([...foldInUser(handFactors(), [])]).toEqual([0, 0, 1]);
  });
});

describe('hiddenChances', () => {
  it('spreads the expected count over unheard items by softmax, heard items at 0, capped at 1', () => {
    const c = hiddenChances(Float32Array.from([0, Math.log(3), 5, 0]), 1, new Set([2]));
    expect(c[2]).toBe(0);
    expect(c[0]!).toBeCloseTo(1 / 5, 6);
    expect(c[1]!).toBeCloseTo(3 / 5, 6);
    expect(c[3]!).toBeCloseTo(1 / 5, 6);
    // a low temperature sharpens: the best unheard item reaches the cap
    const sharp = hiddenChances(Float32Array.from([0, Math.log(3), 5]), 2, new Set([2]), 0.1);
    expect(sharp[1]).toBe(1);
    expect(sharp[0]!).toBeLessThan(0.001);
  });
});

describe('createMpdBprScorer', () => {
  it('from BPR trained on the corpus, scores a playlist of the query’s genre above one of the other genre', async () => {
    const corpus = twoGenres();
    const f = await trainCorpusBpr(corpus, { factors: 4, epochs: 60, seed: 7, learningRate: 0.05 });
    expect(f.users.ids).toHaveLength(corpus.length);
    const tracks = new Map(corpus.map((p) => [p.id, [...new Set(p.tracks)]]));
    const scorer = createMpdBprScorer(f, [{ user: 'q', tracks: ['a0', 'a1', 'a2'] }], (id) => tracks.get(id));
    const raw = scorer.score('q', ['p0', 'p1', 'p2', 'p3'])!;
    expect(raw).toHaveLength(4);
    // p0, p2 are genre a; p1, p3 genre b
    expect(Math.min(raw[0]!, raw[2]!)).toBeGreaterThan(Math.max(raw[1]!, raw[3]!));
    // the logistic of a raw score is the playlist's expected hidden share, in [0, 1]
    for (const x of raw) {
      const share = 1 / (1 + Math.exp(-x));
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThanOrEqual(1);
    }
    expect(scorer.score('nobody', ['p0'])).toBeUndefined();
  });

  it('counts the query’s known tracks as never hidden', () => {
    const f = handFactors();
    const tracks: Record<string, string[]> = { known: ['x0', 'x1'], fresh: ['x2'] };
    const scorer = createMpdBprScorer(f, [{ user: 'q', tracks: ['x0', 'x1'] }], (id) => tracks[id]);
    const [known, fresh] = scorer.score('q', ['known', 'fresh'])!;
    expect(1 / (1 + Math.exp(-known!))).toBeLessThan(1e-5);
    expect(fresh!).toBeGreaterThan(known!);
  });
});
