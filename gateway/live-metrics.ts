import type { ClickHouseClient } from '@clickhouse/client';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sqlString, toQueryResult, type QueryResult } from '../warehouse/index.js';
import type { MetricsSnapshot, MetricsSource } from './protocol.js';

/**
 * Live metrics for the gateway's `metrics` channel and the dashboard (docs/dashboard.md), computed from the
 * warehouse on an interval: organic against other listening minutes, click-through and follow rate by model
 * version, the most recommended playlists, new users served, and events per second.
 *
 * Each refresh runs a handful of queries over a recent window only (`windowMs`, default 3 h, in `bucketSeconds`
 * buckets; lists are looked up `listLookbackMs` further back so that reactions find their list), so its cost is
 * bounded by the window, not by the history. The SQL runs on ClickHouse 18.16 and on current releases (one JOIN
 * per SELECT, ANY/ALL with USING, no window functions, no query parameters; aliases never reuse a column name,
 * which 18.16 would substitute into WHERE) and no FINAL (it would merge whole partitions at every refresh): listens
 * and reactions are counted as stored, since the warehouse sink writes each event id once (as listen_hourly relies
 * on), and lists, which a replay may store twice until parts merge, are grouped by list id.
 *
 * Every series is dense (one value per bucket) and broken down by model version where the data has one, so a
 * client filters the time range and the model version itself, with no query per subscriber.
 *
 * State: the latest snapshot, in memory only. Nothing to restore after a restart: the first refresh (at once on
 * creation) recomputes it from ClickHouse. A failed query logs one line, counts a failure and keeps the last good
 * snapshot (no partial one is published); the next interval tries again.
 */
export interface LiveMetricsOptions {
  /** A ClickHouse client (warehouse/createWarehouseClient). Not closed by {@link LiveMetrics.close}. */
  readonly client: ClickHouseClient;
  /** Qualifies the table names (default: the client's database). */
  readonly database?: string;
  /** Time between the end of one refresh and the start of the next (default 5,000 ms). */
  readonly intervalMs?: number;
  /** How far back the series reach (default 3 h). Bounds every query. */
  readonly windowMs?: number;
  /** Width of a bucket (default 60 s). `windowMs` must be at least one bucket and at most 1,440 buckets. */
  readonly bucketSeconds?: number;
  /** How far before the window reactions may look for their list (default 6 h). */
  readonly listLookbackMs?: number;
  /** How many of the window's most recommended playlists get a series (default 20). */
  readonly topPlaylists?: number;
  /** Where the Prometheus metrics go (default: a registry of its own, {@link LiveMetrics.registry}). */
  readonly registry?: Registry;
  /** One line per failed query (default: stderr). */
  readonly log?: (line: string) => void;
  /** The clock (epoch ms; default Date.now). */
  readonly now?: () => number;
}

/** Per-bucket counts of one model version's lists and of the reactions to them. */
export interface ModelSeries {
  readonly impressions: number[];
  readonly clicks: number[];
  readonly follows: number[];
  /** Lists published. */
  readonly lists: number[];
  /** Lists made of popular picks only (the user had no usable taste yet). */
  readonly coldLists: number[];
  /** Users whose first list (within the lookback) was published in the bucket, by this model version. */
  readonly newUsers: number[];
}

/** The snapshot pushed on the metrics channel. Times of buckets are unix seconds (what uPlot takes). */
export interface LiveMetricsSnapshot extends MetricsSnapshot {
  /** When it was computed (epoch ms). */
  readonly at: number;
  readonly bucketSeconds: number;
  /** Start of each bucket, unix seconds, oldest first; the last one is the current (partial) bucket. */
  readonly buckets: readonly number[];
  /** Minutes played per bucket: organic playlists from a Buddies list, other organic playlists, everything else. */
  readonly listening: { readonly recommendedMin: number[]; readonly organicMin: number[]; readonly otherMin: number[] };
  /** Events per bucket (divide by bucketSeconds for a rate): listens, feedback, recommendation lists. */
  readonly events: { readonly listens: number[]; readonly feedback: number[]; readonly lists: number[] };
  /** Model versions with lists or reactions in the window, sorted. */
  readonly modelVersions: readonly string[];
  readonly byModel: Readonly<Record<string, ModelSeries>>;
  /** The window's most recommended playlists, most first. */
  readonly playlists: ReadonlyArray<{ readonly playlistId: string; readonly name: string; readonly curator: string }>;
  /** Lists that recommended a playlist: [bucket index, model version index, playlist index, lists]. */
  readonly playlistCounts: ReadonlyArray<readonly [number, number, number, number]>;
  /** Wall time of each query of this refresh, ms. */
  readonly queryMs: Readonly<Record<string, number>>;
}

/** The live metrics source: {@link MetricsSource} plus an on-demand refresh and its Prometheus registry. */
export interface LiveMetrics extends MetricsSource {
  latest(): LiveMetricsSnapshot | undefined;
  /** Runs one refresh now (waiting for one in flight first); the new snapshot, or undefined when a query failed. */
  refresh(): Promise<LiveMetricsSnapshot | undefined>;
  /** The registry its Prometheus metrics are in (the one given, or its own). */
  readonly registry: Registry;
  /** Registers its Prometheus metrics on another registry too, e.g. the gateway's (served at /metrics). */
  registerOn(registry: Registry): void;
}

/** The time range one refresh covers, in unix seconds. */
export interface LiveWindow {
  /** Start of the first bucket. */
  readonly since: number;
  /** End of the current bucket (exclusive). */
  readonly until: number;
  /** Start of the list lookup (before `since`). */
  readonly listsSince: number;
  readonly bucketSeconds: number;
  readonly topPlaylists: number;
}

/** The window ending with the bucket that holds `nowMs`. */
export function liveWindow(nowMs: number, o: { windowMs: number; bucketSeconds: number; listLookbackMs: number; topPlaylists: number }): LiveWindow {
  const b = o.bucketSeconds;
  const until = (Math.floor(Math.floor(nowMs / 1000) / b) + 1) * b;
  const since = until - Math.ceil(o.windowMs / 1000 / b) * b;
  return { since, until, listsSince: since - Math.ceil(o.listLookbackMs / 1000), bucketSeconds: b, topPlaylists: o.topPlaylists };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The refresh's queries, by name, for tables in `database` (unqualified when undefined); then {@link playlistNamesQuery}. */
export function liveMetricsQueries(w: LiveWindow, database?: string): ReadonlyArray<{ readonly name: string; readonly sql: string }> {
  const t = qualifier(database);
  const b = w.bucketSeconds;
  const range = (time: string, date: string, from: number) =>
    `${date} >= toDate(toDateTime(${from})) AND ${time} >= toDateTime(${from}) AND ${time} < toDateTime(${w.until})`;
  const bucket = (expr: string) => `intDiv(toUInt32(${expr}), ${b}) * ${b}`;
  return [
    {
      // rows as they are: the warehouse sink writes a listen or a reaction once (it skips event ids already stored,
      // which listen_hourly relies on too), so no FINAL and no grouping by event id
      name: 'listening',
      sql: `SELECT ${bucket('event_time')} AS t,
  sumIf(ms_played, source = 'ORGANIC_PLAYLIST' AND recommendation_id != '') AS recommended_ms,
  sumIf(ms_played, source = 'ORGANIC_PLAYLIST' AND recommendation_id = '') AS organic_ms,
  sumIf(ms_played, source != 'ORGANIC_PLAYLIST') AS other_ms,
  count() AS listens
FROM ${t('listen_events')}
WHERE ${range('event_time', 'event_date', w.since)}
GROUP BY t
ORDER BY t`,
    },
    {
      name: 'feedback',
      sql: `SELECT ${bucket('at')} AS t, model_version, count() AS feedback,
  countIf(fkind = 'IMPRESSION') AS impressions, countIf(fkind = 'CLICK') AS clicks, countIf(fkind = 'FOLLOW_PLAYLIST') AS follows
FROM (
  SELECT event_time AS at, kind AS fkind, recommendation_id AS rec_id FROM ${t('feedback_events')}
  WHERE ${range('event_time', 'event_date', w.since)}
) AS f ANY LEFT JOIN (
  SELECT recommendation_id AS rec_id, any(model_version) AS model_version FROM ${t('recommendations')}
  WHERE ${range('generated_at', 'generated_date', w.listsSince)}
  GROUP BY recommendation_id
) AS r USING rec_id
GROUP BY t, model_version
ORDER BY t, model_version`,
    },
    {
      // a list is one row per item, and a replayed list is stored again until parts merge: group by the list id
      name: 'lists',
      sql: `SELECT ${bucket('at')} AS t, mv AS model_version, count() AS lists, sum(cold) AS cold_lists
FROM (
  SELECT recommendation_id, any(generated_at) AS at, any(model_version) AS mv, any(cold_start) AS cold
  FROM ${t('recommendations')}
  WHERE ${range('generated_at', 'generated_date', w.since)}
  GROUP BY recommendation_id
)
GROUP BY t, model_version
ORDER BY t, model_version`,
    },
    {
      name: 'new-users',
      sql: `SELECT intDiv(first_at, ${b}) * ${b} AS t, first_model AS model_version, count() AS new_users
FROM (
  SELECT user_id, min(toUInt32(generated_at)) AS first_at, argMin(model_version, generated_at) AS first_model
  FROM ${t('recommendations')}
  WHERE ${range('generated_at', 'generated_date', w.listsSince)}
  GROUP BY user_id
  HAVING first_at >= ${w.since}
)
GROUP BY t, model_version
ORDER BY t, model_version`,
    },
    {
      name: 'top-playlists',
      sql: `SELECT ${bucket('generated_at')} AS t, model_version, playlist_id, uniqExact(recommendation_id) AS lists
FROM ${t('recommendations')}
WHERE ${range('generated_at', 'generated_date', w.since)} AND playlist_id IN (
  SELECT playlist_id FROM (
    SELECT playlist_id, uniqExact(recommendation_id) AS n FROM ${t('recommendations')}
    WHERE ${range('generated_at', 'generated_date', w.since)}
    GROUP BY playlist_id ORDER BY n DESC, playlist_id LIMIT ${w.topPlaylists}))
GROUP BY t, model_version, playlist_id
ORDER BY t, model_version, playlist_id`,
    },
  ];
}

/** The names and curators of these playlists (their latest version), read by the playlists' key; undefined for none. */
export function playlistNamesQuery(ids: readonly string[], database?: string): { readonly name: string; readonly sql: string } | undefined {
  if (ids.length === 0) return undefined;
  return {
    name: 'playlist-names',
    sql: `SELECT playlist_id, argMax(name, version) AS pname, argMax(owner_id, version) AS curator
FROM ${qualifier(database)('playlists')}
WHERE playlist_id IN (${[...new Set(ids)].sort().map(sqlString).join(', ')})
GROUP BY playlist_id
ORDER BY playlist_id`,
  };
}

/** The playlists of the `top-playlists` rows, for {@link playlistNamesQuery}. */
export function topPlaylistIds(rows: QueryResult['rows']): string[] {
  return [...new Set(rows.map((r) => String(r.playlist_id)))].sort();
}

function qualifier(database: string | undefined): (table: string) => string {
  if (database !== undefined && !IDENT.test(database)) throw new RangeError(`database '${database}' is not a plain identifier`);
  return (table) => (database ? `${database}.${table}` : table);
}

type Rows = QueryResult['rows'];

/** The snapshot from the queries' rows (numbers as numbers, as {@link toQueryResult} gives them). */
export function assembleSnapshot(w: LiveWindow, at: number, results: Readonly<Record<string, Rows>>, queryMs: Readonly<Record<string, number>> = {}): LiveMetricsSnapshot {
  const b = w.bucketSeconds;
  const n = (w.until - w.since) / b;
  const buckets = Array.from({ length: n }, (_, i) => w.since + i * b);
  const zeros = () => new Array<number>(n).fill(0);
  const idx = (t: unknown) => {
    const i = (Number(t) - w.since) / b;
    return Number.isInteger(i) && i >= 0 && i < n ? i : -1;
  };
  const rows = (name: string): Rows => {
    const r = results[name];
    if (!r) throw new Error(`no result for query ${name}`);
    return r;
  };
  const num = (v: unknown) => Number(v) || 0;
  const minutes = (ms: unknown) => Math.round(num(ms) / 600) / 100;

  const listening = { recommendedMin: zeros(), organicMin: zeros(), otherMin: zeros() };
  const events = { listens: zeros(), feedback: zeros(), lists: zeros() };
  for (const r of rows('listening')) {
    const i = idx(r.t);
    if (i < 0) continue;
    listening.recommendedMin[i] = minutes(r.recommended_ms);
    listening.organicMin[i] = minutes(r.organic_ms);
    listening.otherMin[i] = minutes(r.other_ms);
    events.listens[i] = num(r.listens);
  }

  const byModel: Record<string, ModelSeries> = {};
  const model = (v: string): ModelSeries =>
    (byModel[v] ??= { impressions: zeros(), clicks: zeros(), follows: zeros(), lists: zeros(), coldLists: zeros(), newUsers: zeros() });
  for (const r of rows('feedback')) {
    const i = idx(r.t);
    if (i < 0) continue;
    events.feedback[i]! += num(r.feedback);
    const v = String(r.model_version ?? '');
    if (v === '' || num(r.impressions) + num(r.clicks) + num(r.follows) === 0) continue; // reactions outside any list
    const m = model(v);
    m.impressions[i]! += num(r.impressions);
    m.clicks[i]! += num(r.clicks);
    m.follows[i]! += num(r.follows);
  }
  for (const r of rows('lists')) {
    const i = idx(r.t);
    if (i < 0) continue;
    const m = model(String(r.model_version));
    m.lists[i]! += num(r.lists);
    m.coldLists[i]! += num(r.cold_lists);
    events.lists[i]! += num(r.lists);
  }
  for (const r of rows('new-users')) {
    const i = idx(r.t);
    if (i >= 0) model(String(r.model_version)).newUsers[i]! += num(r.new_users);
  }
  const modelVersions = Object.keys(byModel).sort();

  const names = new Map((results['playlist-names'] ?? []).map((r) => [String(r.playlist_id), { name: String(r.pname), curator: String(r.curator) }]));
  const totals = new Map<string, number>();
  for (const r of rows('top-playlists')) totals.set(String(r.playlist_id), (totals.get(String(r.playlist_id)) ?? 0) + num(r.lists));
  const order = [...totals.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([id]) => id);
  const playlists = order.map((id) => ({ playlistId: id, name: names.get(id)?.name ?? '', curator: names.get(id)?.curator ?? '' }));
  const pIndex = new Map(order.map((id, i) => [id, i]));
  const vIndex = new Map(modelVersions.map((v, i) => [v, i]));
  const playlistCounts: Array<readonly [number, number, number, number]> = [];
  for (const r of rows('top-playlists')) {
    const i = idx(r.t);
    const v = vIndex.get(String(r.model_version));
    if (i < 0 || v === undefined) continue;
    playlistCounts.push([i, v, pIndex.get(String(r.playlist_id))!, num(r.lists)]);
  }

  return { at, bucketSeconds: b, buckets, listening, events, modelVersions, byModel, playlists, playlistCounts, queryMs };
}

/** A source that refreshes at once, then `intervalMs` after each refresh ends, until closed. */
export function createLiveMetrics(opts: LiveMetricsOptions): LiveMetrics {
  const intervalMs = opts.intervalMs ?? 5_000;
  const bucketSeconds = opts.bucketSeconds ?? 60;
  const windowMs = opts.windowMs ?? 3 * 3_600_000;
  const listLookbackMs = opts.listLookbackMs ?? 6 * 3_600_000;
  const topPlaylists = opts.topPlaylists ?? 20;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!Number.isFinite(intervalMs) || intervalMs < 100) throw new RangeError(`intervalMs must be at least 100, got ${intervalMs}`);
  if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) throw new RangeError(`bucketSeconds must be a whole number of seconds >= 1, got ${bucketSeconds}`);
  const buckets = Math.ceil(windowMs / 1000 / bucketSeconds);
  if (!Number.isFinite(windowMs) || buckets < 1 || buckets > 1440) throw new RangeError(`windowMs must span 1 to 1440 buckets of ${bucketSeconds} s, got ${windowMs} ms`);
  if (!Number.isFinite(listLookbackMs) || listLookbackMs < 0) throw new RangeError(`listLookbackMs must be >= 0, got ${listLookbackMs}`);
  if (!Number.isInteger(topPlaylists) || topPlaylists < 1 || topPlaylists > 100) throw new RangeError(`topPlaylists must be within 1..100, got ${topPlaylists}`);
  if (opts.database !== undefined && !IDENT.test(opts.database)) throw new RangeError(`database '${opts.database}' is not a plain identifier`);

  const registry = opts.registry ?? new Registry();
  const querySeconds = new Histogram({
    name: 'buddies_live_metrics_query_seconds', help: 'Wall time of one live-metrics query on ClickHouse.',
    labelNames: ['query'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const failures = new Counter({
    name: 'buddies_live_metrics_query_failures_total', help: 'Live-metrics queries that failed (the last snapshot was kept).',
    labelNames: ['query'], registers: [registry],
  });
  const refreshes = new Counter({
    name: 'buddies_live_metrics_refreshes_total', help: 'Live-metrics refreshes, by outcome (ok: a new snapshot was published).',
    labelNames: ['outcome'], registers: [registry],
  });
  let latest: LiveMetricsSnapshot | undefined;
  const snapshotAge = new Gauge({
    name: 'buddies_live_metrics_snapshot_age_seconds', help: 'Age of the latest published live-metrics snapshot (absent before the first).', registers: [registry],
    collect() {
      this.reset();
      if (latest) this.set((now() - latest.at) / 1000);
    },
  });

  const listeners = new Set<(s: LiveMetricsSnapshot) => void>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<LiveMetricsSnapshot | undefined> | undefined;

  async function runOnce(): Promise<LiveMetricsSnapshot | undefined> {
    try {
      return await computeAndPublish();
    } catch (err) { // a bug in assembling, not a query: still one line, and the last snapshot stays
      refreshes.inc({ outcome: 'failed' });
      log(`live metrics: refresh failed (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    }
  }

  async function computeAndPublish(): Promise<LiveMetricsSnapshot | undefined> {
    const at = now();
    const w = liveWindow(at, { windowMs, bucketSeconds, listLookbackMs, topPlaylists });
    const results: Record<string, Rows> = {};
    const queryMs: Record<string, number> = {};
    const run = async (q: { readonly name: string; readonly sql: string }): Promise<boolean> => {
      const started = performance.now();
      try {
        const res = await (await opts.client.query({ query: q.sql, format: 'JSON' })).json<Record<string, unknown>>();
        results[q.name] = toQueryResult(res).rows;
        return true;
      } catch (err) {
        failures.inc({ query: q.name });
        refreshes.inc({ outcome: 'failed' });
        const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
        const kept = latest ? `keeping the snapshot of ${new Date(latest.at).toISOString()}` : 'no snapshot yet';
        log(`live metrics: query ${q.name} failed (${msg}); ${kept}, next try in ${intervalMs} ms`);
        return false;
      } finally {
        const s = (performance.now() - started) / 1000;
        querySeconds.observe({ query: q.name }, s);
        queryMs[q.name] = Math.round(s * 10_000) / 10;
      }
    };
    // one at a time: a refresh is a light, steady load on ClickHouse rather than a burst
    for (const q of liveMetricsQueries(w, opts.database)) if (!(await run(q))) return undefined;
    const names = playlistNamesQuery(topPlaylistIds(results['top-playlists']!), opts.database);
    if (names && !(await run(names))) return undefined;
    const snap = assembleSnapshot(w, at, results, queryMs);
    if (closed) return snap;
    latest = snap;
    refreshes.inc({ outcome: 'ok' });
    for (const fn of [...listeners]) {
      try {
        fn(snap);
      } catch (err) {
        log(`live metrics: a subscriber threw (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    return snap;
  }

  function refresh(): Promise<LiveMetricsSnapshot | undefined> {
    // refreshes never overlap: a call during one waits for it, then runs its own
    const run = (inFlight ?? Promise.resolve(undefined)).then(() => runOnce());
    inFlight = run;
    void run.then(() => {
      if (inFlight === run) inFlight = undefined;
    });
    return run;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void refresh().finally(schedule);
    }, intervalMs);
    timer.unref();
  }
  void refresh().finally(schedule);

  return {
    registry,
    registerOn(other) {
      other.registerMetric(querySeconds);
      other.registerMetric(failures);
      other.registerMetric(refreshes);
      other.registerMetric(snapshotAge);
    },
    latest: () => latest,
    refresh,
    subscribe(fn) {
      listeners.add(fn as (s: LiveMetricsSnapshot) => void);
      return () => listeners.delete(fn as (s: LiveMetricsSnapshot) => void);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
      await inFlight?.catch(() => undefined);
    },
  };
}
