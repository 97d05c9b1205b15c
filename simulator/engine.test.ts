import { describe, expect, it } from 'vitest';
import { createRng } from '../models/random.js';
import { curateTracks } from './curate.js';
import { createWorldModel } from '../data/world.js';
import type { RecommendationList } from '../streams/index.js';
import { createSimulation } from './engine.js';

const model = createWorldModel({ users: 400, playlists: 2000, seed: 3, communities: 20 });
const START = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

/** Runs a simulation for `days` simulated days where every list holds playlists chosen by `pick`. */
function simulate(strategy: 'good' | 'bad', days: number) {
  const playlists = new Map<string, string[]>();
  const rng = createRng(99);
  const sim = createSimulation({ model, users: 100, seed: 5, startMs: START, playlistTracks: (id) => playlists.get(id) });
  let n = 0;
  const offerList = (userId: string) => {
    const u = sim.users.find((x) => x.id === userId);
    if (!u) return;
    const items = Array.from({ length: 10 }, (_, i) => {
      const id = `p${n++}`;
      const taste = strategy === 'good' ? u.taste : { communities: [rng.int(model.config.communities)], weights: [1] };
      playlists.set(id, curateTracks(model, taste, 30, rng).map((t) => model.track(t).uri));
      return { playlistId: id, rank: i + 1, score: 1, explanation: { buddyId: null, tasteMatch: 0, reason: '' } };
    });
    const list: RecommendationList = { recommendationId: `r${n}`, userId, items, modelVersion: strategy, coldStart: false, generatedAt: 0 };
    sim.offer(list);
  };
  for (const u of sim.users) offerList(u.id);
  const events = [];
  for (let t = START; t < START + days * DAY; t += 1_200_000) {
    const step = sim.step(t, Number.MAX_SAFE_INTEGER);
    events.push(...step);
    for (const u of sim.users) if (u.list && u.seen >= u.list.items.length) offerList(u.id);
  }
  return { metrics: sim.metrics.get(strategy), events };
}

describe('simulation engine', () => {
  it('tells a good recommender from a bad one by click-through, follow rate and listen-through', () => {
    const good = simulate('good', 2).metrics;
    const bad = simulate('bad', 2).metrics;
    if (!good || !bad) throw new Error('no impressions');
    expect(good.impressions).toBeGreaterThan(200);
    expect(bad.impressions).toBeGreaterThan(200);
    const ctr = (m: typeof good) => m.clicks / m.impressions;
    const follow = (m: typeof good) => m.follows / m.impressions;
    const through = (m: typeof good) => m.played / Math.max(1, m.played + m.skipped);
    expect(ctr(good)).toBeGreaterThan(2 * ctr(bad));
    expect(follow(good)).toBeGreaterThan(3 * follow(bad));
    expect(through(good)).toBeGreaterThan(through(bad) + 0.15);
  });

  it('emits events valid for their topics, in sessions, with newcomers under fresh ids', () => {
    const { events } = simulate('good', 1);
    const kinds = new Set(events.map((e) => (e.topic === 'feedback' ? e.value.kind : e.topic)));
    for (const k of ['IMPRESSION', 'CLICK', 'listens']) expect(kinds).toContain(k);
    for (const e of events) {
      expect(e.key).toBe(e.topic === 'playlists' ? e.value.playlistId : e.value.userId);
      if (e.topic === 'listens') expect(e.value.msPlayed).toBeLessThanOrEqual(e.value.trackDurationMs);
    }
    const sim = createSimulation({ model, users: 150, seed: 5, startMs: START, playlistTracks: () => undefined });
    expect(sim.users.some((u) => u.persona.name === 'newcomer' && u.id.startsWith('new-'))).toBe(true);
    expect(new Set(sim.users.map((u) => u.id)).size).toBe(150);
  });
});
