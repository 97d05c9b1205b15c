import { describe, expect, it } from 'vitest';
import type { LiveMetricsSnapshot, ModelSeries } from '../live-metrics.js';
import { MAX_POINTS, viewOf } from './view.js';

const B = 60;
const T0 = 1_764_676_800; // 2025-12-02 12:00 UTC, a bucket start

/** A snapshot of `n` one-minute buckets, 30 s into the last one, with the given per-bucket series. */
function snapshot(n: number, f: (i: number) => { listens?: number; organic?: number; other?: number; a?: Partial<Record<keyof ModelSeries, number>>; b?: Partial<Record<keyof ModelSeries, number>> }): LiveMetricsSnapshot & { playlistCounts: Array<[number, number, number, number]> } {
  const z = () => new Array<number>(n).fill(0);
  const model = (): Record<keyof ModelSeries, number[]> => ({ impressions: z(), clicks: z(), follows: z(), lists: z(), coldLists: z(), newUsers: z() });
  const s = {
    at: (T0 + (n - 1) * B + 30) * 1000, bucketSeconds: B, buckets: Array.from({ length: n }, (_, i) => T0 + i * B),
    listening: { recommendedMin: z(), organicMin: z(), otherMin: z() }, events: { listens: z(), feedback: z(), lists: z() },
    modelVersions: ['a', 'b'], byModel: { a: model(), b: model() },
    playlists: [{ playlistId: 'p0', name: 'zero', curator: 'c' }, { playlistId: 'p1', name: 'one', curator: 'c' }],
    playlistCounts: [] as Array<[number, number, number, number]>, queryMs: {},
  };
  for (let i = 0; i < n; i++) {
    const x = f(i);
    s.events.listens[i] = x.listens ?? 0;
    s.listening.organicMin[i] = x.organic ?? 0;
    s.listening.otherMin[i] = x.other ?? 0;
    for (const [v, m] of [['a', x.a], ['b', x.b]] as const) for (const [k, val] of Object.entries(m ?? {})) s.byModel[v][k as keyof ModelSeries][i] = val;
  }
  return s;
}

describe('dashboard view', () => {
  it('keeps the buckets of the range, the current one last, with rates per second over the elapsed part', () => {
    const s = snapshot(180, () => ({ listens: 60, organic: 2, other: 1 }));
    const v = viewOf(s, { rangeSeconds: 900 });
    expect(v.times).toHaveLength(15);
    expect(v.times.at(-1)).toBe(T0 + 179 * B);
    expect(v.stepSeconds).toBe(60);
    expect(v.rates.listens.slice(0, 14).every((r) => r === 1)).toBe(true);
    expect(v.rates.listens.at(-1)).toBe(2); // 60 listens in the 30 s so far
    expect(v.numbers.listens).toBe(900);
    expect(v.numbers.organicMin).toBe(30);
    expect(v.numbers.otherMin).toBe(15);
    expect(v.numbers.organicShare).toBeCloseTo(2 / 3);
    expect(v.numbers.eventsPerSecond).toBeCloseTo(900 / (14 * 60 + 30));
    expect(v.numbers.eventsPerSecondLastBucket).toBe(1);
  });

  it('has no rate yet for a current minute only seconds old, rather than a fall to zero', () => {
    const s = { ...snapshot(10, () => ({ listens: 60 })), at: (T0 + 9 * B + 3) * 1000 };
    const v = viewOf(s, { rangeSeconds: 900 });
    expect(v.rates.listens.slice(-2)).toEqual([1, null]);
    expect(v.listening.other.at(-1)).toBeNull();
  });

  it('adds up neighbouring buckets for long ranges, at most MAX_POINTS points', () => {
    const s = snapshot(180, () => ({ listens: 6 }));
    const v = viewOf(s, { rangeSeconds: 10_800 });
    expect(v.times.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(v.stepSeconds).toBe(120);
    expect(v.times[0]).toBe(T0);
    expect(v.rates.listens[0]).toBeCloseTo(0.1);
    expect(v.numbers.listens).toBe(1080);
  });

  it('filters the model version: rates, new users, the table and the top playlists', () => {
    const s = snapshot(30, (i) => ({ a: { impressions: 10, clicks: 2, follows: 1, newUsers: 1, lists: 3 }, b: i >= 20 ? { impressions: 10, clicks: 6, follows: 4, lists: 1 } : {} }));
    s.playlistCounts.push([5, 0, 0, 4], [25, 1, 1, 7], [25, 0, 1, 1]);
    const all = viewOf(s, { rangeSeconds: 3_600 });
    expect(all.models.map((m) => [m.version, m.impressions, m.ctr])).toEqual([['a', 300, 0.2], ['b', 100, 0.6]]);
    expect(all.numbers.ctr).toBeCloseTo((60 + 60) / 400);
    expect(all.ctr.map((x) => x.version)).toEqual(['a', 'b']);
    expect(all.ctr[1]!.values[0]).toBeNull(); // no impressions: a gap, not a zero
    expect(all.ctr[0]!.values.every((r) => r === 0.2)).toBe(true);
    expect(all.followRate[1]!.values[20]).toBeCloseTo(0.4);
    expect(all.top.map((p) => [p.playlistId, p.lists])).toEqual([['p1', 8], ['p0', 4]]);

    const b = viewOf(s, { rangeSeconds: 3_600, modelVersion: 'b' });
    expect(b.models.map((m) => m.version)).toEqual(['b']);
    expect(b.numbers.followRate).toBeCloseTo(0.4);
    expect(b.numbers.newUsers).toBe(0);
    expect(b.top).toEqual([{ playlistId: 'p1', name: 'one', curator: 'c', lists: 7 }]);

    const recent = viewOf(s, { rangeSeconds: 900 }); // buckets 15..29: p0's bucket 5 is out
    expect(recent.top.map((p) => p.playlistId)).toEqual(['p1']);
    expect(recent.numbers.newUsers).toBe(15);
  });

  it('draws rates over a trailing five minutes, so a single minute does not swing the line from 0 to 1', () => {
    const s = snapshot(20, (i) => ({ a: { impressions: 2, clicks: i === 10 ? 2 : 0 } }));
    const v = viewOf(s, { rangeSeconds: 3_600 });
    expect(v.ctr[0]!.values.slice(9, 16)).toEqual([0, 0.2, 0.2, 0.2, 0.2, 0.2, 0]);
  });

  it('shows nothing rather than failing when a range holds no data', () => {
    const v = viewOf(snapshot(5, () => ({})), { rangeSeconds: 3_600 });
    expect(v.times).toHaveLength(5);
    expect(v.numbers.ctr).toBeNull();
    expect(v.numbers.organicShare).toBeNull();
    expect(v.top).toEqual([]);
  });
});
