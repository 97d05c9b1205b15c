import type { ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { assembleSnapshot, createLiveMetrics, liveMetricsQueries, liveWindow, playlistNamesQuery, topPlaylistIds, type LiveMetricsSnapshot } from './live-metrics.js';

const NOW = Date.UTC(2026, 11, 2, 12, 30, 25); // 12:30:25 UTC
const W = { windowMs: 10 * 60_000, bucketSeconds: 60, listLookbackMs: 3_600_000, topPlaylists: 5 };

/** Rows for every query, as toQueryResult gives them (numbers as numbers). */
function rows(w: ReturnType<typeof liveWindow>) {
  const t = (i: number) => w.since + i * 60;
  return {
    listening: [
      { t: t(0), recommended_ms: 120_000, organic_ms: 60_000, other_ms: 30_000, listens: 4 },
      { t: t(9), recommended_ms: 0, organic_ms: 0, other_ms: 90_000, listens: 1 },
      { t: t(10), recommended_ms: 1, organic_ms: 1, other_ms: 1, listens: 99 }, // beyond the window: ignored
    ],
    feedback: [
      { t: t(2), model_version: '', feedback: 3, impressions: 0, clicks: 0, follows: 0 },
      { t: t(2), model_version: 'b@2', feedback: 5, impressions: 3, clicks: 1, follows: 1 },
      { t: t(3), model_version: 'a@1', feedback: 2, impressions: 2, clicks: 0, follows: 0 },
    ],
    lists: [{ t: t(2), model_version: 'b@2', lists: 2, cold_lists: 1 }, { t: t(3), model_version: 'a@1', lists: 1, cold_lists: 0 }],
    'new-users': [{ t: t(2), model_version: 'b@2', new_users: 2 }],
    'top-playlists': [
      { t: t(2), model_version: 'b@2', playlist_id: 'p2', lists: 2 },
      { t: t(3), model_version: 'a@1', playlist_id: 'p1', lists: 1 },
      { t: t(3), model_version: 'b@2', playlist_id: 'p1', lists: 2 },
    ],
    'playlist-names': [{ playlist_id: 'p1', pname: 'one', curator: 'c1' }, { playlist_id: 'p2', pname: 'two', curator: 'c2' }],
  };
}

describe('live metrics: window and queries', () => {
  it('ends the window with the bucket that holds now, and looks lists up further back', () => {
    const w = liveWindow(NOW, W);
    expect(w.until).toBe(Date.UTC(2026, 11, 2, 12, 31) / 1000);
    expect(w.since).toBe(Date.UTC(2026, 11, 2, 12, 21) / 1000);
    expect(w.listsSince).toBe(w.since - 3600);
  });

  it('bounds every query by the window (or the list lookback) on the partition date and the time', () => {
    const w = liveWindow(NOW, W);
    const qs = liveMetricsQueries(w, 'buddies');
    expect(qs.map((q) => q.name)).toEqual(['listening', 'feedback', 'lists', 'new-users', 'top-playlists']);
    for (const q of qs) {
      for (const table of ['listen_events', 'feedback_events', 'recommendations']) {
        const reads = q.sql.split(`FROM buddies.${table}`).length - 1;
        const bounded = q.sql.split(`< toDateTime(${w.until})`).length - 1;
        if (reads > 0) expect(bounded, `${q.name} on ${table}`).toBeGreaterThanOrEqual(reads);
      }
      expect(q.sql, q.name).not.toMatch(/\bFINAL\b|\bOVER\s*\(|\{/); // no FINAL over partitions, no window functions, no parameters
    }
    expect(() => liveMetricsQueries(w, 'x; DROP TABLE y')).toThrow(/plain identifier/);
  });

  it('looks the top playlists\' names up by their ids, quoted', () => {
    expect(playlistNamesQuery([])).toBeUndefined();
    const q = playlistNamesQuery(topPlaylistIds([{ playlist_id: "b'x" }, { playlist_id: 'a' }, { playlist_id: 'a' }]), 'buddies')!;
    expect(q.sql).toContain("FROM buddies.playlists\nWHERE playlist_id IN ('a', 'b\\'x')");
  });
});

describe('live metrics: assembling a snapshot', () => {
  const w = liveWindow(NOW, W);
  const s = assembleSnapshot(w, NOW, rows(w), { listening: 1.5 });

  it('makes dense series, one value per bucket, the last one the current bucket', () => {
    expect(s.buckets).toHaveLength(10);
    expect(s.buckets[9]).toBe(Date.UTC(2026, 11, 2, 12, 30) / 1000);
    expect(s.listening.recommendedMin).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.listening.organicMin[0]).toBe(1);
    expect(s.listening.otherMin[0]).toBe(0.5);
    expect(s.listening.otherMin[9]).toBe(1.5);
    expect(s.events.listens).toEqual([4, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(s.events.feedback[2]).toBe(8); // reactions outside a list count as events too
    expect(s.events.lists[2]).toBe(2);
    expect(s.queryMs).toEqual({ listening: 1.5 });
  });

  it('breaks reactions, lists and new users down by model version', () => {
    expect(s.modelVersions).toEqual(['a@1', 'b@2']);
    expect(s.byModel['b@2']!.impressions[2]).toBe(3);
    expect(s.byModel['b@2']!.clicks[2]).toBe(1);
    expect(s.byModel['b@2']!.coldLists[2]).toBe(1);
    expect(s.byModel['b@2']!.newUsers[2]).toBe(2);
    expect(s.byModel['a@1']!.impressions[3]).toBe(2);
    expect(s.byModel['a@1']!.newUsers.every((n) => n === 0)).toBe(true);
  });

  it('orders the top playlists by lists over the window and keeps their counts per bucket and version', () => {
    expect(s.playlists).toEqual([{ playlistId: 'p1', name: 'one', curator: 'c1' }, { playlistId: 'p2', name: 'two', curator: 'c2' }]);
    expect(s.playlistCounts).toEqual([[2, 1, 1, 2], [3, 0, 0, 1], [3, 1, 0, 2]]);
  });

  it('is plain JSON (it goes over the WebSocket as it is)', () => {
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

/** A ClickHouse client that answers each query from `rows`, failing the queries named in `failing`. */
function fakeClient(failing: Set<string>, calls: string[]): ClickHouseClient {
  return {
    async query({ query }: { query: string }) {
      const w = liveWindow(NOW, W);
      const q = [...liveMetricsQueries(w), playlistNamesQuery(['p1', 'p2'])!].find((x) => x.sql === query)!;
      calls.push(q.name);
      if (failing.has(q.name)) throw new Error(`Code: 60. DB::Exception: Table x doesn't exist.\nstack trace line`);
      const data = (rows(w) as Record<string, Array<Record<string, unknown>>>)[q.name]!;
      const meta = Object.keys(data[0] ?? {}).map((name) => ({ name, type: typeof data[0]![name] === 'number' ? 'UInt64' : 'String' }));
      return { json: async () => ({ meta, data }) };
    },
  } as unknown as ClickHouseClient;
}

describe('live metrics: the source', () => {
  it('publishes a snapshot to subscribers; a failed query logs one line, counts, and keeps the last snapshot', async () => {
    const failing = new Set<string>();
    const calls: string[] = [];
    const lines: string[] = [];
    const src = createLiveMetrics({ client: fakeClient(failing, calls), intervalMs: 60_000, ...W, now: () => NOW, log: (l) => lines.push(l) });
    try {
      const seen: LiveMetricsSnapshot[] = [];
      src.subscribe((s) => seen.push(s as LiveMetricsSnapshot));
      const first = await src.refresh();
      expect(first).toBeDefined();
      expect(src.latest()).toBe(first);
      expect(seen.at(-1)).toBe(first);
      const published = seen.length;

      failing.add('lists');
      calls.length = 0;
      expect(await src.refresh()).toBeUndefined();
      expect(calls).toEqual(['listening', 'feedback', 'lists']); // stops at the failed query
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^live metrics: query lists failed \(Code: 60\. DB::Exception: Table x doesn't exist\.\); keeping the snapshot of 2026-12-02T12:30:25\.000Z/);
      expect(src.latest()).toBe(first);
      expect(seen).toHaveLength(published);
      const text = await src.registry.metrics();
      expect(text).toMatch(/buddies_live_metrics_query_failures_total\{query="lists"\} 1/);
      expect(text).toMatch(/buddies_live_metrics_refreshes_total\{outcome="failed"\} 1/);
      expect(text).toMatch(/buddies_live_metrics_query_seconds_count\{query="listening"\} [1-9]/);
      const gatewayRegistry = new Registry();
      src.registerOn(gatewayRegistry);
      expect(await gatewayRegistry.metrics()).toMatch(/buddies_live_metrics_query_failures_total\{query="lists"\} 1/);

      failing.clear();
      const again = await src.refresh();
      expect(again).toBeDefined();
      expect(src.latest()).toBe(again);
      expect(seen.at(-1)).toBe(again);
    } finally {
      await src.close();
    }
  });

  it('never runs two refreshes at once, refreshes on the interval, and stops when closed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const calls: string[] = [];
      const src = createLiveMetrics({ client: fakeClient(new Set(), calls), intervalMs: 1_000, ...W, now: () => NOW, log: () => undefined });
      const [a, b] = await Promise.all([src.refresh(), src.refresh()]);
      expect(a).toBeDefined();
      expect(b).toBeDefined();
      // the first refresh (at creation) and these two each run the six queries in order, never interleaved
      expect(calls).toHaveLength(18);
      for (let i = 0; i < calls.length; i += 6) expect(calls.slice(i, i + 6)).toEqual(['listening', 'feedback', 'lists', 'new-users', 'top-playlists', 'playlist-names']);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(calls).toHaveLength(24); // one more, an interval after the first ended
      await src.close();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls).toHaveLength(24);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects options it cannot honour at once', () => {
    const client = fakeClient(new Set(), []);
    expect(() => createLiveMetrics({ client, intervalMs: 10 })).toThrow(/intervalMs/);
    expect(() => createLiveMetrics({ client, windowMs: 30 * 86_400_000 })).toThrow(/windowMs/);
    expect(() => createLiveMetrics({ client, bucketSeconds: 0.5 })).toThrow(/bucketSeconds/);
    expect(() => createLiveMetrics({ client, database: 'a-b' })).toThrow(/plain identifier/);
  });
});
