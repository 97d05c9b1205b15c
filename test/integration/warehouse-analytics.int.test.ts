import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouseSinkTopology, type SinkTopic } from '../../processors/index.js';
import { createStreamsApp, createTypedProducer } from '../../streams/index.js';
import { rawEquivalent } from '../../bench/queries.js';
import { ANALYTICS_QUERIES, analyticsQuery, MIGRATIONS, renderQuery, runAnalyticsQuery, toQueryResult, type QueryResult } from '../../warehouse/index.js';
import { analyticsFixture, fixtureRows } from '../helpers/analytics-fixture.js';
import { groupCaughtUp, waitFor } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

// The analysts' queries (docs/analytics.md) on the fixture's events, written by the warehouse sink on the local
// stack's ClickHouse (18.16 from Debian), replayed, and on a current ClickHouse (chDB, in-process)
const fixture = analyticsFixture();
const TOPICS: SinkTopic[] = ['playlists', 'recommendations', 'listens', 'feedback'];
const RATE = /^(ctr|.*_rate|.*_share|share_.*|listen_through|retained_.*)$/;

let bed: TestBed;
let client: ClickHouseClient;
let database: string;
const results = new Map<string, QueryResult>();

async function runAll(): Promise<Map<string, QueryResult>> {
  const out = new Map<string, QueryResult>();
  for (const q of ANALYTICS_QUERIES) out.set(q.name, await runAnalyticsQuery(client, q.name, 0));
  return out;
}

/**
 * One pass of the warehouse sink over every topic, with new consumer groups (so a second pass is a full replay): the
 * lists first, as docs/analytics.md says to rebuild a warehouse, since the fixture's reactions are too old to wait for them.
 */
async function sinkEverything(round: number): Promise<void> {
  for (const topics of [TOPICS.slice(0, 2), TOPICS.slice(2)]) {
    const ids = topics.map((t) => bed.unique(`analytics-${t}-${round}`));
    const apps = topics.map((t, i) => createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: t, client, applicationId: ids[i]! }) }));
    await Promise.all(apps.map((a) => a.start()));
    try {
      await waitFor(async () => (await Promise.all(topics.map((t, i) => groupCaughtUp(bed.kafka, ids[i]!, bed.topics.name(t))))).every(Boolean), `sink round ${round}`, 90_000, 250);
    } finally {
      await Promise.all(apps.map((a) => a.stop()));
    }
  }
}

const rows = (name: string) => results.get(name)!.rows;
const num = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);

describe("the analysts' queries", () => {
  beforeAll(async () => {
    bed = await createTestBed([...TOPICS, 'deadLetters']);
    ({ client, opts: { database } } = await createTestWarehouse());
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('playlists', fixture.playlists.map((v) => ({ key: v.playlistId, value: v })));
    await producer.send('recommendations', fixture.recommendations.map((v) => ({ key: v.userId, value: v })));
    await producer.send('listens', fixture.listens.map((v) => ({ key: v.userId, value: v })));
    await producer.send('feedback', fixture.feedback.map((v) => ({ key: v.userId, value: v })));
    await producer.disconnect();
    await client.insert({ table: 'model_decisions', values: fixture.decisions, format: 'JSONEachRow' });
    await sinkEverything(1);
    for (const [k, v] of await runAll()) results.set(k, v);
  });
  afterAll(dropTestWarehouses);

  it('every documented query returns rows, with rates between 0 and 1', () => {
    for (const q of ANALYTICS_QUERIES) {
      const r = results.get(q.name)!;
      expect(r.rows.length, q.name).toBeGreaterThan(0);
      for (const row of r.rows) {
        for (const [col, v] of Object.entries(row)) {
          if (!RATE.test(col)) continue;
          expect(typeof v, `${q.name}.${col}`).toBe('number');
          expect(v as number, `${q.name}.${col}`).toBeGreaterThanOrEqual(0);
          expect(v as number, `${q.name}.${col}`).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('listening minutes from the hourly view add up to the raw events, per day and in total', async () => {
    const minutes = rows('listening-minutes');
    const rawTotal = (await num('SELECT sum(ms_played) AS n FROM listen_events FINAL')) / 60_000;
    expect(rawTotal).toBeGreaterThan(0);
    expect(Math.abs(minutes.reduce((s, r) => s + (r.total_min as number), 0) - rawTotal)).toBeLessThanOrEqual(0.05 * minutes.length);
    for (const r of minutes) {
      const raw = (await num(`SELECT sum(ms_played) AS n FROM listen_events FINAL WHERE toDate(event_time) = toDate('${r.day}')`)) / 60_000;
      expect(Math.abs((r.total_min as number) - raw), String(r.day)).toBeLessThanOrEqual(0.05);
      expect(Math.abs((r.organic_min as number) + (r.algorithmic_min as number) + (r.other_min as number) - (r.total_min as number))).toBeLessThanOrEqual(0.15);
    }
    expect(rows('organic-share').map((r) => r.total_min)).toEqual(minutes.map((r) => r.total_min));
    expect(minutes.some((r) => (r.organic_min as number) > 0 && (r.algorithmic_min as number) > 0)).toBe(true);
  });

  it('counts what the fixture holds', async () => {
    const impressions = fixture.feedback.filter((f) => f.kind === 'IMPRESSION').length;
    expect(rows('model-rates').reduce((s, r) => s + (r.impressions as number), 0)).toBe(impressions);
    expect(rows('explanation-rates').reduce((s, r) => s + (r.impressions as number), 0)).toBe(impressions);
    expect(rows('explanation-rates').map((r) => r.explanation)).toEqual(['followed by your buddy', 'made by your buddy', 'new from your buddy', 'popular']);
    expect(rows('model-rates').map((r) => r.model_version)).toEqual(['buddies@emb:v1+bpr:none', 'buddies@emb:v1+bpr:v2']);
    expect(rows('cold-start')).toEqual([expect.objectContaining({ cold_start_users: 12, converted: 9, conversion_rate: 0.75 })]);
    expect(rows('retention').map((r) => r.followed_recommended)).toEqual([0, 1]);
    expect(rows('retention').reduce((s, r) => s + (r.users as number), 0)).toBe(12);
    expect(rows('canary').map((r) => r.role)).toEqual(['canary', 'production']);
    expect(rows('new-playlist-reach').at(-1)).toEqual(expect.objectContaining({ new_playlists: 1, shown_to_anyone: 1, users_shown: 9 }));
    // membership follows the shrink and the delete
    expect(await num("SELECT count() AS n FROM playlist_tracks WHERE playlist_id = 'pl-c0-0'")).toBe(3);
    expect(await num("SELECT count() AS n FROM playlist_tracks WHERE playlist_id = 'pl-c2-1'")).toBe(0);
  });

  it('the reaction rates read from reaction_hourly equal the raw tables joined to their lists', async () => {
    for (const name of ['model-rates', 'explanation-rates', 'canary']) {
      const raw = toQueryResult(await (await client.query({ query: rawEquivalent(analyticsQuery(name), 0)!, format: 'JSON' })).json<Record<string, unknown>>());
      expect(raw.rows.length, name).toBeGreaterThan(0);
      expect(rows(name), name).toEqual(raw.rows);
    }
    // every reaction to a list was attributed when the sink wrote it
    expect(await num("SELECT count() AS n FROM feedback_events WHERE recommendation_id != '' AND model_version = ''")).toBe(0);
    expect(await num("SELECT count() AS n FROM listen_events WHERE recommendation_id != '' AND model_version = ''")).toBe(0);
  });

  it('a replayed import changes no result', async () => {
    await sinkEverything(2);
    expect(Object.fromEntries(await runAll())).toEqual(Object.fromEntries(results));
    expect(await num('SELECT count() AS n FROM listen_events')).toBe(fixture.listens.length); // not stored twice, even before merges
    expect(await num('SELECT count() AS n FROM feedback_events')).toBe(fixture.feedback.length);
  });

  it('buddies report runs each query by name, in each format, and names the queries with --list', () => {
    const cli = (...args: string[]) => spawnSync('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), 'report', ...args], { env: { ...process.env, CLICKHOUSE_DATABASE: database }, encoding: 'utf8', timeout: 60_000 });
    const list = cli('--list');
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(ANALYTICS_QUERIES.map((q) => q.name));
    for (const q of ANALYTICS_QUERIES) {
      const json = cli(q.name, '--since', 'all', '--format', 'json');
      expect(json.status, `${q.name}: ${json.stderr}`).toBe(0);
      expect(JSON.parse(json.stdout), q.name).toEqual(results.get(q.name)!.rows);
    }
    const csv = cli('cold-start', '--since', 'all', '--format', 'csv');
    expect(csv.stdout).toBe('day,cold_start_users,converted,conversion_rate,median_minutes_to_convert\n2026-11-20,12,9,0.75,10\n');
    expect(cli('listening-minutes', '--since', 'all').stdout).toMatch(/^day +organic_min +algorithmic_min +other_min +total_min\n-+/);
    const unknown = cli('no-such-query');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^buddies report: no report named 'no-such-query' \(buddies report --list names them: listening-minutes, /);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the same migrations and queries run on current ClickHouse (chDB) with the same results', () => {
    const spec = {
      database: 'buddies_chdb',
      statements: [...MIGRATIONS].sort((a, b) => a.id - b.id).flatMap((m) => m.statements),
      inserts: [...fixtureRows(fixture)].map(([table, values]) => ({ table, rows: values })),
      queries: ANALYTICS_QUERIES.map((q) => ({ name: q.name, sql: renderQuery(q, 0) })),
    };
    const run = spawnSync('python3', [join(bed.cfg.rootDir, 'test/helpers/chdb_run.py')], { input: JSON.stringify(spec), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { version: string; results: Record<string, { meta: Array<{ name: string; type: string }>; data: Array<Record<string, unknown>> }> };
    expect(Number(out.version.split('.')[0])).toBeGreaterThanOrEqual(24);
    for (const q of ANALYTICS_QUERIES) expect(toQueryResult(out.results[q.name]!).rows, q.name).toEqual(results.get(q.name)!.rows);
  });
});
