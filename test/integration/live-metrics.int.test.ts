import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleSnapshot, createLiveMetrics, liveMetricsQueries, liveWindow, playlistNamesQuery, type LiveMetrics, type LiveMetricsSnapshot } from '../../gateway/live-metrics.js';
import { ROW_MAPPERS, type SinkTopic } from '../../processors/index.js';
import { MIGRATIONS, toQueryResult } from '../../warehouse/index.js';
import { testConfig } from '../helpers/config.js';
import { expectedLive, liveTraffic, LIVE_VERSIONS, type LiveTraffic } from '../helpers/live-fixture.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

// The live metrics' queries (gateway/live-metrics.ts) on the local stack's ClickHouse (Debian's 18.16) and on a
// current ClickHouse (chDB, in-process), against what the traffic holds, counted directly from the events.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const OPTS = { windowMs: 3 * 3_600_000, bucketSeconds: 60, listLookbackMs: 6 * 3_600_000, topPlaylists: 20 };
const traffic = liveTraffic({ endMs: NOW, minutes: 45, seed: 11, userPrefix: 'live-u' });
// four hours ago: outside the window, must count nowhere
const old = liveTraffic({ endMs: NOW - 4 * 3_600_000, minutes: 3, seed: 5, userPrefix: 'old-u' });

function rowsOf(t: LiveTraffic): Map<string, Array<Record<string, unknown>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  const add = <T extends SinkTopic>(topic: T, values: ReadonlyArray<Parameters<(typeof ROW_MAPPERS)[T]>[0]>) => {
    for (const v of values) {
      for (const { table, row } of (ROW_MAPPERS[topic] as (x: typeof v) => Array<{ table: string; row: Record<string, unknown> }>)(v)) {
        out.set(table, [...(out.get(table) ?? []), row]);
      }
    }
  };
  add('playlists', t.playlists);
  add('recommendations', t.recommendations);
  add('listens', t.listens);
  add('feedback', t.feedback);
  return out;
}

/**
 * Every row of both, and the lists a second time: a replayed list is stored again until parts merge, and must count
 * once. (Listens and reactions are written once by the warehouse sink, which skips stored event ids.)
 */
function allRows(): Array<[string, Array<Record<string, unknown>>]> {
  const out: Array<[string, Array<Record<string, unknown>>]> = [];
  for (const t of [traffic, old]) {
    for (const [table, rows] of rowsOf(t)) {
      out.push([table, rows]);
      if (table === 'recommendations') out.push([table, rows]);
    }
  }
  return out;
}

let client: ClickHouseClient;
let database: string;
let source: LiveMetrics;
const lines: string[] = [];
let snap: LiveMetricsSnapshot;

describe('live metrics on ClickHouse 18.16 and current', () => {
  beforeAll(async () => {
    ({ client, opts: { database } } = await createTestWarehouse());
    for (const [table, values] of allRows()) await client.insert({ table, values, format: 'JSONEachRow' });
    source = createLiveMetrics({ client, database, intervalMs: 3_600_000, ...OPTS, now: () => NOW, log: (l) => lines.push(l) });
    snap = (await source.refresh())!;
  });
  afterAll(async () => {
    await source?.close();
    await dropTestWarehouses();
  });

  it('counts what the traffic holds, per bucket and model version, replayed lists once, nothing outside the window', () => {
    expect(snap).toBeDefined();
    expect(lines).toEqual([]);
    const e = expectedLive(traffic, 60);
    const at = (m: Map<number, number>, t: number) => m.get(t) ?? 0;
    const toMinutes = (ms: number) => Math.round(ms / 600) / 100;
    expect(snap.buckets).toHaveLength(180);
    expect(snap.modelVersions).toEqual([...LIVE_VERSIONS]);
    let listens = 0;
    for (const [i, t] of snap.buckets.entries()) {
      expect(snap.events.listens[i], `listens at ${t}`).toBe(at(e.listens, t));
      expect(snap.events.feedback[i], `feedback at ${t}`).toBe(at(e.feedback, t));
      // minutes are shown to two decimals: the sums in milliseconds must match exactly, then round alike
      expect(snap.listening.recommendedMin[i], `recommended at ${t}`).toBe(toMinutes(at(e.recommendedMs, t)));
      expect(snap.listening.organicMin[i], `organic at ${t}`).toBe(toMinutes(at(e.organicMs, t)));
      expect(snap.listening.otherMin[i], `other at ${t}`).toBe(toMinutes(at(e.otherMs, t)));
      for (const v of LIVE_VERSIONS) {
        const m = snap.byModel[v]!;
        const k = `${t}/${v}`;
        expect([m.impressions[i], m.clicks[i], m.follows[i], m.lists[i], m.newUsers[i]], k)
          .toEqual([e.impressions.get(k) ?? 0, e.clicks.get(k) ?? 0, e.follows.get(k) ?? 0, e.lists.get(k) ?? 0, e.newUsers.get(k) ?? 0]);
      }
      listens += snap.events.listens[i]!;
    }
    expect(listens).toBe(traffic.listens.length); // not the old traffic
    expect(snap.byModel[LIVE_VERSIONS[0]]!.lists.reduce((a, b) => a + b, 0) + snap.byModel[LIVE_VERSIONS[1]]!.lists.reduce((a, b) => a + b, 0))
      .toBe(traffic.recommendations.length); // each list once, though stored twice
    const totals = new Map<string, number>();
    for (const [, , p, n] of snap.playlistCounts) totals.set(snap.playlists[p]!.playlistId, (totals.get(snap.playlists[p]!.playlistId) ?? 0) + n);
    expect(Object.fromEntries(totals)).toEqual(Object.fromEntries(e.playlistLists));
    expect(snap.playlists[0]!.name).toMatch(/^curator \d mix \d$/);
    const ranked = snap.playlists.map((p) => totals.get(p.playlistId)!);
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
  });

  it('the same queries on current ClickHouse (chDB) give the same snapshot', () => {
    const w = liveWindow(NOW, OPTS);
    const queries = [...liveMetricsQueries(w, 'buddies_live_chdb'), playlistNamesQuery(snap.playlists.map((p) => p.playlistId), 'buddies_live_chdb')!];
    const spec = {
      database: 'buddies_live_chdb',
      statements: [...MIGRATIONS].sort((a, b) => a.id - b.id).flatMap((m) => m.statements),
      inserts: allRows().map(([table, rows]) => ({ table, rows })),
      queries,
    };
    const run = spawnSync('python3', [join(testConfig().rootDir, 'test/helpers/chdb_run.py')], { input: JSON.stringify(spec), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { version: string; results: Record<string, { meta: Array<{ name: string; type: string }>; data: Array<Record<string, unknown>> }> };
    expect(Number(out.version.split('.')[0])).toBeGreaterThanOrEqual(24);
    const results = Object.fromEntries(queries.map((q) => [q.name, toQueryResult(out.results[q.name]!).rows]));
    expect({ ...assembleSnapshot(w, NOW, results), queryMs: {} }).toEqual({ ...snap, queryMs: {} });
  });

  it('a failing query logs one line and keeps the last snapshot; the next refresh recovers', async () => {
    await client.command({ query: `RENAME TABLE ${database}.playlists TO ${database}.playlists_away` });
    try {
      expect(await source.refresh()).toBeUndefined();
      expect(source.latest()).toBe(snap);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^live metrics: query playlist-names failed \(.*playlists.*\); keeping the snapshot of \d{4}-/);
      expect(await source.registry.metrics()).toMatch(/buddies_live_metrics_query_failures_total\{query="playlist-names"\} 1/);
    } finally {
      await client.command({ query: `RENAME TABLE ${database}.playlists_away TO ${database}.playlists` });
    }
    const again = await source.refresh();
    expect(again).toBeDefined();
    expect(source.latest()).toBe(again);
    expect({ ...again!, queryMs: {} }).toEqual({ ...snap, queryMs: {} });
  });
});
