import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLoadReport, createWorldModel, generateWorld, readMpdDir } from '../data/index.js';
import { createRng } from '../models/random.js';
import {
  affinity,
  assignPersona,
  curateTracks,
  diurnalWeight,
  nextSessionStart,
  PERSONA_NAMES,
  PERSONAS,
  planSession,
  react,
  shiftTaste,
  tasteAt,
  tasteMatch,
  type HiddenTaste,
  type Reaction,
} from './index.js';

const taste: HiddenTaste = { communities: [3, 7], weights: [0.75, 0.25] };
const perfect = { trackCommunities: Array.from({ length: 40 }, () => 3) };
const offTaste = { trackCommunities: Array.from({ length: 40 }, (_, i) => 10 + (i % 5)) };

function rates(rs: readonly Reaction[]) {
  const opened = rs.filter((r) => r.opened);
  const played = opened.reduce((a, r) => a + r.played, 0);
  const heard = opened.reduce((a, r) => a + r.played + r.skipped, 0);
  return {
    ctr: opened.length / rs.length,
    follow: rs.filter((r) => r.followed).length / rs.length,
    dismiss: rs.filter((r) => r.dismissed).length / rs.length,
    listenThrough: heard === 0 ? 0 : played / heard,
  };
}

describe('tasteMatch / affinity', () => {
  it('is 1 for the strongest community, the weight ratio for others, 0 (or novelty) outside', () => {
    expect(affinity(taste, 3)).toBe(1);
    expect(affinity(taste, 7)).toBeCloseTo(1 / 3);
    expect(affinity(taste, 9)).toBe(0);
    expect(affinity(taste, 9, 0.35)).toBe(0.35);
    expect(tasteMatch(taste, [3, 3, 7, 9])).toBeCloseTo((1 + 1 + 1 / 3) / 4);
    expect(tasteMatch(taste, [])).toBe(0);
  });
});

describe('react', () => {
  it('is deterministic for a seeded rng', () => {
    const a = Array.from({ length: 50 }, ((rng) => () => react(taste, perfect, PERSONAS.casual, rng))(createRng(5)));
    const b = Array.from({ length: 50 }, ((rng) => () => react(taste, perfect, PERSONAS.casual, rng))(createRng(5)));
    expect(b).toEqual(a);
  });

  it.each(PERSONA_NAMES)('%s: a matching playlist gets far more clicks, listens and follows than an off-taste one', (name) => {
    const persona = PERSONAS[name];
    const rng = createRng(99);
    const good = rates(Array.from({ length: 3000 }, () => react(taste, perfect, persona, rng)));
    const bad = rates(Array.from({ length: 3000 }, () => react(taste, offTaste, persona, rng)));
    // explorers are meant to be less selective: they give unfamiliar communities a chance
    expect(good.ctr).toBeGreaterThan((name === 'explorer' ? 1.5 : 2.5) * bad.ctr);
    expect(good.follow).toBeGreaterThan(5 * bad.follow + 0.01);
    expect(good.listenThrough - bad.listenThrough).toBeGreaterThan(0.3);
    expect(bad.dismiss).toBeGreaterThan(good.dismiss);
  });

  it('keeps counts consistent and skips shorter than plays', () => {
    const rng = createRng(1);
    for (let i = 0; i < 500; i++) {
      const r = react(taste, { trackCommunities: [3, 9, 7, 9, 3, 3], trackDurationsMs: [1e5, 2e5, 3e5, 2e5, 1e5, 1e5] }, PERSONAS.heavy, rng);
      expect(r.played + r.skipped).toBe(r.tracks.length);
      if (!r.opened) expect(r.tracks).toHaveLength(0);
      for (const t of r.tracks) if (t.outcome === 'skipped') expect(t.listenedMs).toBeLessThanOrEqual([1e5, 2e5, 3e5, 2e5, 1e5, 1e5][t.position] as number);
      expect(r.followed && r.dismissed).toBe(false);
    }
  });

  it('explorers open off-taste playlists more than casual listeners do', () => {
    const rng = createRng(2);
    const explorer = rates(Array.from({ length: 4000 }, () => react(taste, offTaste, PERSONAS.explorer, rng)));
    const casual = rates(Array.from({ length: 4000 }, () => react(taste, offTaste, PERSONAS.casual, rng)));
    expect(explorer.ctr).toBeGreaterThan(2 * casual.ctr);
  });
});

describe('good vs bad recommender on a generated world', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('online metrics separate an oracle recommender from a random one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'buddies-sim-'));
    const options = { users: 200, playlists: 1500, seed: 21, communities: 12 };
    await generateWorld({ ...options, out: dir });
    const model = createWorldModel(options);
    const playlists: Array<{ pid: number; communities: number[]; durations: number[] }> = [];
    for await (const p of readMpdDir(dir, createLoadReport())) {
      const idx = p.tracks.map((t) => model.trackIndexOfUri(t.track_uri) as number);
      playlists.push({ pid: p.pid, communities: idx.map((i) => model.track(i).community), durations: p.tracks.map((t) => t.duration_ms ?? 0) });
    }
    const rng = createRng(4);
    const good: Reaction[] = [];
    const bad: Reaction[] = [];
    for (let u = 0; u < options.users; u++) {
      const user = model.user(u);
      const persona = PERSONAS[assignPersona(user, options.seed)];
      const ranked = playlists.map((p) => ({ p, m: tasteMatch(user, p.communities) })).sort((a, b) => b.m - a.m || a.p.pid - b.p.pid);
      for (let k = 0; k < 10; k++) {
        const g = ranked[k]?.p;
        const b = playlists[rng.int(playlists.length)];
        if (!g || !b) throw new Error('world too small');
        good.push(react(user, { trackCommunities: g.communities, trackDurationsMs: g.durations }, persona, rng));
        bad.push(react(user, { trackCommunities: b.communities, trackDurationsMs: b.durations }, persona, rng));
      }
    }
    const g = rates(good);
    const b = rates(bad);
    // measured with these seeds: ctr .42 vs .11, follow .10 vs .007, listen-through .85 vs .55
    expect(g.ctr).toBeGreaterThan(2.5 * b.ctr);
    expect(g.follow).toBeGreaterThan(5 * b.follow);
    expect(g.listenThrough - b.listenThrough).toBeGreaterThan(0.2);
  });
});

describe('assignPersona', () => {
  it('gives every persona a share, deterministically', () => {
    const model = createWorldModel({ users: 5000, playlists: 1, seed: 3 });
    const counts = new Map<string, number>();
    for (let u = 0; u < 5000; u++) {
      const p = assignPersona(model.user(u), 3);
      expect(assignPersona(model.user(u), 3)).toBe(p);
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    for (const name of PERSONA_NAMES) expect(counts.get(name) ?? 0).toBeGreaterThan(100);
    expect((counts.get('newcomer') ?? 0) / 5000).toBeCloseTo(0.1, 1);
  });
});

describe('sessions', () => {
  it('session starts follow the diurnal curve and come after the given time', () => {
    const rng = createRng(8);
    let t = Date.UTC(2024, 0, 1);
    const byHour = new Array<number>(24).fill(0);
    for (let i = 0; i < 5000; i++) {
      const next = nextSessionStart(PERSONAS.heavy, t, rng);
      expect(next).toBeGreaterThan(t);
      t = next;
      byHour[new Date(t).getUTCHours()]! += 1;
    }
    expect(byHour[20]!).toBeGreaterThan(4 * byHour[3]!);
    const days = (t - Date.UTC(2024, 0, 1)) / 86_400_000;
    expect(5000 / days).toBeGreaterThan(PERSONAS.heavy.sessionsPerDay * 0.6);
    expect(5000 / days).toBeLessThan(PERSONAS.heavy.sessionsPerDay * 1.6);
    expect(diurnalWeight(20)).toBeLessThanOrEqual(1);
  });

  it('planSession lengths and impressions scale with the persona', () => {
    const rng = createRng(9);
    const plans = Array.from({ length: 3000 }, () => planSession(PERSONAS.heavy, 0, rng));
    const meanMin = plans.reduce((a, p) => a + p.endMs, 0) / plans.length / 60_000;
    expect(meanMin).toBeGreaterThan(PERSONAS.heavy.meanSessionMinutes * 0.8);
    expect(meanMin).toBeLessThan(PERSONAS.heavy.meanSessionMinutes * 1.2);
    const meanImp = plans.reduce((a, p) => a + p.impressions, 0) / plans.length;
    expect(meanImp).toBeCloseTo(meanMin * PERSONAS.heavy.impressionsPerMinute, 0);
    for (const p of plans) expect(p.impressions).toBeGreaterThanOrEqual(1);
  });
});

describe('shiftTaste', () => {
  it('moves a share of one community to another, keeping the total', () => {
    const s = shiftTaste(taste, { from: 3, to: 9, fraction: 0.8 });
    expect(s.communities).toEqual([9, 7, 3]);
    expect(s.weights[0]).toBeCloseTo(0.6);
    expect(s.weights[1]).toBeCloseTo(0.25);
    expect(s.weights[2]).toBeCloseTo(0.15);
    expect(shiftTaste(taste, { from: 3, to: 7, fraction: 1 })).toEqual({ communities: [7], weights: [1] });
    expect(shiftTaste(taste, { from: 5, to: 7, fraction: 1 })).toBe(taste);
    expect(() => shiftTaste(taste, { from: 3, to: 7, fraction: 2 })).toThrow(RangeError);
  });

  it('tasteAt applies shifts only once their time has come, and a shifted user reacts to the new community', () => {
    const shift = { from: 3, to: 11, fraction: 1, atMs: 1000 };
    expect(tasteAt(taste, [shift], 999)).toBe(taste);
    const after = tasteAt(taste, [shift], 1000);
    const to11 = { trackCommunities: Array.from({ length: 40 }, () => 11) };
    const rng = createRng(6);
    const before = rates(Array.from({ length: 2000 }, () => react(taste, to11, PERSONAS.casual, rng)));
    const later = rates(Array.from({ length: 2000 }, () => react(after, to11, PERSONAS.casual, rng)));
    expect(later.ctr).toBeGreaterThan(3 * before.ctr);
  });
});

describe('curateTracks', () => {
  it('draws distinct tracks mostly from the taste', () => {
    const model = createWorldModel({ users: 100, playlists: 10, seed: 1, communities: 8 });
    const t = curateTracks(model, { communities: [2, 5], weights: [0.5, 0.5] }, 60, createRng(3));
    expect(new Set(t).size).toBe(60);
    const inTaste = t.filter((i) => [2, 5].includes(model.track(i).community)).length;
    expect(inTaste / 60).toBeGreaterThan(0.8);
  });
});
