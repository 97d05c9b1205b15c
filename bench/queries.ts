/**
 * The analysts' ten queries (warehouse/queries.ts) on a warehouse of millions of events (`buddies bench queries`,
 * results in bench/results/queries.md).
 *
 * In a fresh database of its own (migrated with the project's migrations, dropped at the end and on Ctrl-C), loads
 * N listen events plus proportionate feedback, recommendation lists and playlists. The rows are generated inside
 * ClickHouse by `INSERT ... SELECT ... FROM numbers()`, in time order and in chunks, into the tables the warehouse
 * sink writes, so the materialized views (`listen_hourly`, `playlist_first_seen`) fill from those inserts as they
 * fill from the sink's. Every draw is a hash of the row number (cityHash64), not rand(): a rerun loads the same rows.
 *
 * Then it lets ClickHouse's background merges settle (a warehouse that filled over weeks has merged its parts) and
 * times each query several times: the client's wall time (request to parsed result) and, from system.query_log
 * (`log_queries=1` on each query), the server's time, rows and bytes read and peak memory. ClickHouse 18.16 sends no
 * `X-ClickHouse-Summary` header, so the query log is the source on every version.
 *
 * The reference, in the same run: for the queries that read the hourly views `listen_hourly` and `reaction_hourly`,
 * the same figures computed from the raw events (`listen_events FINAL`; reactions joined to their lists in
 * `recommendations`), as an analyst would without the views ({@link RAW_EQUIVALENTS}; the bench checks that both give
 * the same rows). The generated reactions carry their list's model version and explanation, as the sink writes them. The two run alternately, run by run, so that the machine's other
 * load falls on both alike.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { BuddiesConfig } from '../config/index.js';
import { ANALYTICS_QUERIES, EXPLANATION_SQL, migrateWarehouse, renderQuery, warehouseOptions, type AnalyticsQuery } from '../warehouse/index.js';

/** The views the migrations fill from inserts (materialized views); the other tables are written by the sink. */
export const VIEWS = ['listen_hourly', 'playlist_first_seen', 'reaction_hourly'] as const;

/**
 * Whether a query reads only views (and `model_decisions`, a row per canary decision): the dashboard's figures, whose
 * cost must not grow with events. A query that also scans raw events (new-playlist-reach counts distinct users) is not.
 */
export function readsOnlyViews(reads: readonly string[]): boolean {
  return reads.some((r) => (VIEWS as readonly string[]).includes(r)) && reads.every((r) => (VIEWS as readonly string[]).includes(r) || r === 'model_decisions');
}

/**
 * The figures of the queries that read an hourly view, computed from the raw tables instead (the reference). For
 * `reaction_hourly` (model-rates, explanation-rates, canary): the reactions joined to their lists, as the queries read
 * before the view (the sink now makes that join when it writes a reaction). For `listen_hourly`:
 * Same columns, same types, same rows: `listen_hourly` holds per hour, source and `recommended` the sums of
 * `ms_played` (and counts) of `listen_events`, so summing the raw rows by day gives what summing the hourly rows by
 * day gives. `hour >= toStartOfHour({since})` is `event_time >= toStartOfHour({since})`. Raw events are read with
 * FINAL, as every raw-table query of docs/analytics.md reads them (replayed events count once).
 */
export const RAW_EQUIVALENTS: Readonly<Record<string, string>> = {
  'listening-minutes': `SELECT toDate(event_time) AS day,
  round(sumIf(ms_played, source = 'ORGANIC_PLAYLIST') / 60000, 1) AS organic_min,
  round(sumIf(ms_played, source IN ('ALGORITHMIC', 'RADIO')) / 60000, 1) AS algorithmic_min,
  round(sumIf(ms_played, source NOT IN ('ORGANIC_PLAYLIST', 'ALGORITHMIC', 'RADIO')) / 60000, 1) AS other_min,
  round(sum(ms_played) / 60000, 1) AS total_min
FROM listen_events FINAL
WHERE event_time >= toStartOfHour({since})
GROUP BY day
ORDER BY day`,
  'organic-share': `SELECT toDate(event_time) AS day, round(sum(ms_played) / 60000, 1) AS total_min,
  round(sumIf(ms_played, source = 'ORGANIC_PLAYLIST') / 60000, 1) AS organic_min,
  if(sum(ms_played) = 0, 0, round(sumIf(ms_played, source = 'ORGANIC_PLAYLIST') / sum(ms_played), 3)) AS organic_share,
  if(sum(ms_played) = 0, 0, round(sumIf(ms_played, source = 'ORGANIC_PLAYLIST' AND recommendation_id != '') / sum(ms_played), 3)) AS recommended_share
FROM listen_events FINAL
WHERE event_time >= toStartOfHour({since})
GROUP BY day
ORDER BY day`,
  // the reaction rates as the raw tables give them: each reaction joined to its list (the join that the warehouse sink
  // makes once, when it writes the reaction, for reaction_hourly)
  'model-rates': `SELECT model_version, impressions, clicks, follows,
  if(impressions = 0, 0, round(clicks / impressions, 3)) AS ctr,
  if(impressions = 0, 0, round(follows / impressions, 3)) AS follow_rate,
  listens, if(listens = 0, 0, round(played_through / listens, 3)) AS listen_through
FROM (
  SELECT model_version, countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'CLICK') AS clicks,
    countIf(kind = 'FOLLOW_PLAYLIST') AS follows
  FROM (SELECT recommendation_id, kind FROM feedback_events FINAL WHERE event_time >= toStartOfHour({since}) AND recommendation_id != '') AS f
  ALL INNER JOIN (
    SELECT recommendation_id, any(model_version) AS model_version FROM recommendations FINAL GROUP BY recommendation_id
  ) AS r USING recommendation_id
  GROUP BY model_version
) AS shown ANY LEFT JOIN (
  SELECT model_version, count() AS listens, sum(ms_played >= 30000 OR ms_played * 2 >= track_duration_ms) AS played_through
  FROM (SELECT recommendation_id, ms_played, track_duration_ms FROM listen_events FINAL WHERE event_time >= toStartOfHour({since}) AND recommendation_id != '') AS l
  ALL INNER JOIN (
    SELECT recommendation_id, any(model_version) AS model_version FROM recommendations FINAL GROUP BY recommendation_id
  ) AS r USING recommendation_id
  GROUP BY model_version
) AS played USING model_version
ORDER BY model_version`,
  canary: `SELECT decision_id, model_name, decision, role, model_version, impressions,
  if(impressions = 0, 0, round(clicks / impressions, 3)) AS ctr,
  if(impressions = 0, 0, round(follows / impressions, 3)) AS follow_rate
FROM (
  SELECT decision_id, any(model_name) AS model_name, any(decision) AS decision, role, model_version,
    sumIf(impressions, hour >= toStartOfHour(started_at) AND hour < decided_at) AS impressions,
    sumIf(clicks, hour >= toStartOfHour(started_at) AND hour < decided_at) AS clicks,
    sumIf(follows, hour >= toStartOfHour(started_at) AND hour < decided_at) AS follows
  FROM (
    SELECT decision_id, model_name, decision, started_at, decided_at, model_version, role
    FROM model_decisions FINAL
    ARRAY JOIN [canary_version, production_version] AS model_version, ['canary', 'production'] AS role
    WHERE decided_at >= {since}
  ) AS d ALL LEFT JOIN (
    SELECT model_version, hour, countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'CLICK') AS clicks,
      countIf(kind = 'FOLLOW_PLAYLIST') AS follows
    FROM (SELECT recommendation_id, kind, toStartOfHour(event_time) AS hour FROM feedback_events FINAL
      WHERE event_time + 30 * 86400 >= {since} AND recommendation_id != '') AS f
    ALL INNER JOIN (
      SELECT recommendation_id, any(model_version) AS model_version FROM recommendations FINAL GROUP BY recommendation_id
    ) AS r USING recommendation_id
    GROUP BY model_version, hour
  ) AS stats USING model_version
  GROUP BY decision_id, role, model_version
)
ORDER BY decision_id, role`,
  'explanation-rates': `SELECT explanation, impressions, clicks, follows,
  if(impressions = 0, 0, round(clicks / impressions, 3)) AS ctr,
  if(impressions = 0, 0, round(follows / impressions, 3)) AS follow_rate,
  listens, if(listens = 0, 0, round(played_through / listens, 3)) AS listen_through
FROM (
  SELECT explanation, countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'CLICK') AS clicks,
    countIf(kind = 'FOLLOW_PLAYLIST') AS follows
  FROM (SELECT recommendation_id, playlist_id, kind FROM feedback_events FINAL WHERE event_time >= toStartOfHour({since}) AND recommendation_id != '') AS f
  ALL INNER JOIN (
    SELECT recommendation_id, playlist_id, argMin(${EXPLANATION_SQL}, rank) AS explanation
    FROM recommendations FINAL GROUP BY recommendation_id, playlist_id
  ) AS r USING (recommendation_id, playlist_id)
  GROUP BY explanation
) AS shown ANY LEFT JOIN (
  SELECT explanation, count() AS listens, sum(ms_played >= 30000 OR ms_played * 2 >= track_duration_ms) AS played_through
  FROM (SELECT recommendation_id, playlist_id, ms_played, track_duration_ms FROM listen_events FINAL
    WHERE event_time >= toStartOfHour({since}) AND recommendation_id != '') AS l
  ALL INNER JOIN (
    SELECT recommendation_id, playlist_id, argMin(${EXPLANATION_SQL}, rank) AS explanation
    FROM recommendations FINAL GROUP BY recommendation_id, playlist_id
  ) AS r USING (recommendation_id, playlist_id)
  GROUP BY explanation
) AS played USING explanation
ORDER BY explanation`,
};

/** The raw tables each reference query reads. */
const RAW_READS: Readonly<Record<string, readonly string[]>> = {
  'model-rates': ['feedback_events', 'listen_events', 'recommendations'],
  'explanation-rates': ['feedback_events', 'listen_events', 'recommendations'],
  canary: ['model_decisions', 'feedback_events', 'recommendations'],
};

/** The raw-table equivalent of a query, its window start in place of `{since}`; undefined for a query without one. */
export function rawEquivalent(q: AnalyticsQuery, sinceSeconds: number): string | undefined {
  const sql = RAW_EQUIVALENTS[q.name];
  return sql === undefined ? undefined : renderQuery({ ...q, sql }, sinceSeconds);
}

/** How much of everything a run of N listens loads; all of it is in proportion to N (a few floors for tiny N). */
export interface QueryBenchPlan {
  readonly listens: number;
  readonly feedback: number;
  /** Recommendation lists, of {@link LIST_ITEMS} items each. */
  readonly lists: number;
  readonly users: number;
  /** Users there before the window (a third); the others join evenly over its first two thirds, and a quarter of those leave after three days. */
  readonly existingUsers: number;
  /** Users who made the organic playlists. */
  readonly curators: number;
  /** Organic playlists that existed before the window. */
  readonly oldPlaylists: number;
  /** Organic playlists created during the window, evenly over it. */
  readonly newPlaylists: number;
  /** Algorithmic (service-made) playlists. */
  readonly algorithmicPlaylists: number;
  /** Distinct tracks. */
  readonly tracks: number;
  /** Canary decisions in `model_decisions`. */
  readonly decisions: number;
  /** First second of event time (unix seconds, UTC). */
  readonly start: number;
  readonly days: number;
}

export const LIST_ITEMS = 10;
/** 2026-10-20 00:00 UTC: four weeks from here span two monthly partitions, as a live warehouse's last 30 days do. */
export const BENCH_START = Date.UTC(2026, 9, 20) / 1000;
export const BENCH_DAYS = 28;

export function queryBenchPlan(listens: number): QueryBenchPlan {
  if (!Number.isInteger(listens) || listens < 1) throw new RangeError(`listens must be a positive integer, got ${listens}`);
  const organic = Math.max(20, Math.round(listens / 250));
  const users = Math.max(20, Math.round(listens / 2000));
  return {
    listens,
    feedback: Math.max(1, Math.round(listens / 4)),
    lists: Math.max(users, Math.round(listens / 50)),
    users,
    existingUsers: Math.max(1, Math.round(users / 3)),
    curators: Math.max(1, Math.round(users / 5)),
    oldPlaylists: organic - Math.round(organic / 4),
    newPlaylists: Math.round(organic / 4),
    algorithmicPlaylists: Math.max(5, Math.round(listens / 2500)),
    tracks: Math.max(100, Math.round(listens / 50)),
    decisions: 3,
    start: BENCH_START,
    days: BENCH_DAYS,
  };
}

/** A uniform draw in [0, 1) from a hash of the arguments (SQL). */
const draw = (args: string) => `(cityHash64(${args}) % 1000000 / 1000000)`;
/** A 36-character UUID-shaped id from a hash of the arguments (SQL): event ids are UUIDs from the apps. */
const uuid = (args: string) => `UUIDNumToString(toFixedString(concat(reinterpretAsString(cityHash64(${args}, 1)), reinterpretAsString(cityHash64(${args}, 2))), 16))`;
/** A track id, popular tracks more often (SQL). */
const track = (p: QueryBenchPlan, args: string) => `concat('spotify:track:', lower(hex(cityHash64(toUInt64(floor(${p.tracks} * pow(${draw(args)}, 2)))))))`;
const span = (p: QueryBenchPlan) => p.days * 86_400;

/** When list k was generated (SQL, unix seconds): evenly over the window, in list order. */
const listTime = (p: QueryBenchPlan, k: string) => `(${p.start} + intDiv(${k} * ${span(p)}, ${p.lists}))`;

/**
 * The organic playlist (its index j, SQL) at a rank of list k. The last slot is the freshness slot: one of the 200
 * playlists created last before the list; the others are existing playlists, popular ones more often.
 */
function listPlaylist(p: QueryBenchPlan, k: string, rank: string): string {
  const created = `intDiv((${listTime(p, k)} - ${p.start}) * ${p.newPlaylists}, ${span(p)})`; // new playlists up to the list, minus one
  const last = `least(${created}, ${Math.max(0, p.newPlaylists - 1)})`;
  const fresh = `${p.oldPlaylists} + ${last} - cityHash64(${k}, 21) % least(200, ${last} + 1)`;
  // the list's popular items: a popularity-skewed start, then a prime stride, so no playlist is listed twice in a list
  const popular = `(toUInt64(floor(${p.oldPlaylists} * pow(${draw(`${k}, 22`)}, 2))) + toUInt64(${rank}) * 7919) % ${p.oldPlaylists}`;
  return `if(${rank} = ${LIST_ITEMS} AND ${p.newPlaylists} > 0, toUInt64(${fresh}), ${popular})`;
}

/** The curator of organic playlist j (SQL): curators are among the users who were there before the window. */
const ownerOf = (p: QueryBenchPlan, j: string) => `concat('u', toString(cityHash64(${j}, 31) % ${Math.min(p.curators, p.existingUsers)}))`;

/** When user u joined (SQL, unix seconds): a month before the window for the existing users, then evenly over its first two thirds. */
const joinedAt = (p: QueryBenchPlan, u: string) =>
  `if(${u} < ${p.existingUsers}, toInt64(${p.start - 30 * 86_400}), toInt64(${p.start} + intDiv((toInt64(${u}) - ${p.existingUsers}) * ${2 * span(p)}, ${3 * (p.users - p.existingUsers)})))`;
/** How many users have joined at time t (SQL): users 0 .. n-1. */
const joinedBy = (p: QueryBenchPlan, t: string) =>
  `toUInt64(least(${p.users}, ${p.existingUsers} + intDiv((${t} - ${p.start}) * ${3 * (p.users - p.existingUsers)}, ${2 * span(p)}) + 1))`;
/** Whether user u has left by time t (SQL): a quarter of the users who joined in the window leave three days later. */
const left = (p: QueryBenchPlan, u: string, t: string) => `(${u} >= ${p.existingUsers} AND cityHash64(${u}, 61) % 4 = 0 AND ${t} > ${joinedAt(p, u)} + ${3 * 86_400})`;
/** The user (index, SQL) of an event at time t not tied to a list: one who has joined and not left, heavy ones more often. */
function activeUser(p: QueryBenchPlan, t: string, args: string): string {
  const candidate = `toUInt64(floor(${joinedBy(p, t)} * pow(${draw(`${args}, 1`)}, 2)))`;
  return `if(${left(p, candidate, t)}, toUInt64(floor(${p.existingUsers} * ${draw(`${args}, 2`)})), ${candidate})`;
}
/** The user (index, SQL) list k is for: lists go round the users who have joined and not left. */
function listUser(p: QueryBenchPlan, k: string): string {
  const candidate = `toUInt64(${k} % ${joinedBy(p, listTime(p, k))})`;
  return `if(${left(p, candidate, listTime(p, k))}, toUInt64(cityHash64(${k}, 62) % ${p.existingUsers}), ${candidate})`;
}

/** `INSERT ... SELECT` of the organic and algorithmic playlists' CREATE events (one row each, as the sink writes them). */
export function playlistsInsert(p: QueryBenchPlan): string {
  const organic = p.oldPlaylists + p.newPlaylists;
  return `INSERT INTO playlists (playlist_id, owner_id, name, num_tracks, followers, organic, deleted, version, updated_at, tracks)
SELECT playlist_id, owner_id, name, num_tracks, followers, organic, 0, toUInt64(updated_at) * 1000, updated_at, tracks FROM (
  SELECT number AS j, j < ${organic} AS is_organic, toUInt8(is_organic) AS organic,
    if(is_organic, concat('pl', toString(j)), concat('alg', toString(j - ${organic}))) AS playlist_id,
    if(is_organic, ${ownerOf(p, 'j')}, 'spotify') AS owner_id,
    if(is_organic, concat('mix ', toString(j)), concat('daily mix ', toString(j - ${organic}))) AS name,
    toUInt32(if(is_organic, 10 + cityHash64(j, 51) % 90, 50)) AS num_tracks,
    toUInt64(floor(1000 * pow(${draw('j, 52')}, 4))) AS followers,
    toDateTime(if(j < ${p.oldPlaylists} OR NOT is_organic, toUInt32(${p.start} - 86400 - cityHash64(j, 53) % (365 * 86400)),
      toUInt32(${p.start} + intDiv((j - ${p.oldPlaylists}) * ${span(p)}, ${Math.max(1, p.newPlaylists)})))) AS updated_at,
    arrayMap(i -> ${track(p, 'j, i, 54')}, range(num_tracks)) AS tracks
  FROM numbers(${organic + p.algorithmicPlaylists})
)`;
}

/** Later events of some organic playlists: a fifth are updated (their first half kept), one in fifty deleted (tombstones). */
export function playlistUpdatesInsert(p: QueryBenchPlan): string {
  return `INSERT INTO playlists (playlist_id, owner_id, name, num_tracks, followers, organic, deleted, version, updated_at, tracks)
SELECT concat('pl', toString(j)), ${ownerOf(p, 'j')}, if(deleted = 1, '', concat('mix ', toString(j))), length(tracks), followers, 1, deleted,
  toUInt64(updated_at) * 1000, updated_at, tracks
FROM (
  SELECT number AS j, cityHash64(j, 55) % 100 AS d, toUInt8(d >= 20) AS deleted,
    toUInt64(floor(1000 * pow(${draw('j, 52')}, 4))) AS followers,
    toDateTime(if(j < ${p.oldPlaylists}, toUInt32(${p.start} + cityHash64(j, 56) % ${span(p)}),
      toUInt32(${p.start} + intDiv((j - ${p.oldPlaylists}) * ${span(p)}, ${Math.max(1, p.newPlaylists)}) + 3600 + cityHash64(j, 56) % (7 * 86400)))) AS updated_at,
    if(deleted = 1, emptyArrayString(), arrayMap(i -> ${track(p, 'j, i, 54')}, range(toUInt64(intDiv(10 + cityHash64(j, 51) % 90, 2))))) AS tracks
  FROM numbers(${p.oldPlaylists + p.newPlaylists})
  WHERE d < 22
)`;
}

/**
 * The columns of item `rank` of list `k` (whose user is the column `u`) that say how it was made: `random_user`,
 * `cold_start`, `model_version`, `why` (random, popular, new, made or followed) and `explanation` (what the warehouse
 * sink attributes a reaction to: {@link explanationOf} of the reason written below). The lists, and the listens and
 * feedback that react to them, compute them alike, so a reaction carries its list's model version and explanation as
 * the sink writes them.
 */
function listItem(p: QueryBenchPlan, k: string, rank: string, u: string): string {
  return `${u} % 10 = 0 AS random_user,
    ${listTime(p, k)} - ${joinedAt(p, u)} AS since_joined,
    toUInt8(random_user OR since_joined < 86400 OR (${u} % 7 = 3 AND since_joined < ${3 * 86_400})) AS cold_start,
    multiIf(random_user, 'random', ${listTime(p, k)} < ${p.start + span(p) / 2}, 'buddies@emb:v1+bpr:none', ${k} % 5 = 0, 'buddies@emb:v2+bpr:v2',
      'buddies@emb:v2+bpr:v1') AS model_version,
    ${draw(`${k}, ${rank}, 23`)} AS e,
    multiIf(random_user, 'random', cold_start = 1, 'popular', ${rank} = ${LIST_ITEMS}, 'new', e < 0.45, 'made', e < 0.8, 'followed', 'popular') AS why,
    multiIf(why = 'random', 'random pick', why = 'popular', 'popular', why = 'made', 'made by your buddy', why = 'followed', 'followed by your buddy',
      'new from your buddy') AS explanation`;
}

/**
 * Rows [offset, offset + count) of the recommendation lists: list k is made at its time, for one of the users who
 * have joined and not left (in turn), with 10 items. Users with index mod 10 = 0 get the random strategy (always
 * cold); a user's lists are cold starts (popular picks) for their first day, for their first three days for every
 * seventh user. Personalised items are explained as
 * made by a buddy (the curator), followed by a buddy, popular, and the last slot as new from a buddy. The model
 * version changes halfway (v1 to v2), and in the second half a fifth of the lists come from a canary.
 */
export function recommendationsInsert(p: QueryBenchPlan, offset: number, count: number): string {
  return `INSERT INTO recommendations (recommendation_id, user_id, rank, playlist_id, score, buddy_id, taste_match, reason, model_version, cold_start, generated_at)
SELECT recommendation_id, user_id, rank, playlist_id, score, buddy_id, taste_match, reason, model_version, cold_start, generated_at FROM (
  SELECT number + ${offset} AS n, intDiv(n, ${LIST_ITEMS}) AS k, toUInt16(n % ${LIST_ITEMS} + 1) AS rank, ${listUser(p, 'k')} AS u,
    concat('r', toString(k)) AS recommendation_id, concat('u', toString(u)) AS user_id,
    toDateTime(${listTime(p, 'k')}) AS generated_at,
    ${listItem(p, 'k', 'rank', 'u')},
    ${listPlaylist(p, 'k', 'rank')} AS j, concat('pl', toString(j)) AS playlist_id,
    multiIf(why IN ('made', 'new'), ${ownerOf(p, 'j')}, why = 'followed', concat('u', toString(cityHash64(k, rank, 24) % ${p.users})), '') AS buddy_id,
    toFloat32(0.3 + 0.7 * ${draw('k, rank, 25')}) AS taste_match,
    concat(toString(toUInt32(taste_match * 100)), '% taste match') AS pct,
    multiIf(why = 'random', 'random pick', why = 'popular', 'popular right now', why = 'made', concat('made by your buddy ', buddy_id, ', ', pct),
      why = 'followed', concat('followed by your buddy ', buddy_id, ', ', pct), concat('new from your buddy ', buddy_id, ', ', pct)) AS reason,
    1 - rank / 20 + ${draw('k, rank, 26')} / 100 AS score
  FROM numbers(${count})
)`;
}

/**
 * Listens [offset, offset + count), evenly over the window in row order. Sources: 35% organic playlists (two in
 * five of them from a Buddies list made just before, by that list's user), 25% algorithmic, 10% radio, 18% library,
 * 11% search, 1% unknown. Plays: 70% played through (half the track or more), the rest skipped within 30 s.
 */
export function listensInsert(p: QueryBenchPlan, offset: number, count: number): string {
  return `INSERT INTO listen_events (event_id, user_id, track_id, playlist_id, source, ms_played, track_duration_ms, recommendation_id, event_time, model_version, explanation)
SELECT event_id, user_id, track_id, playlist_id, source, ms_played, track_duration_ms, recommendation_id, event_time,
  if(recommended, model_version, '') AS model_version, if(recommended, explanation, '') AS explanation FROM (
  SELECT number + ${offset} AS n, ${uuid('n, 10')} AS event_id, ${draw('n, 3')} AS s,
    multiIf(s < 0.35, 'ORGANIC_PLAYLIST', s < 0.6, 'ALGORITHMIC', s < 0.7, 'RADIO', s < 0.88, 'LIBRARY', s < 0.99, 'SEARCH', 'UNKNOWN') AS source,
    source = 'ORGANIC_PLAYLIST' AND ${draw('n, 4')} < 0.4 AS recommended,
    intDiv(n * ${p.lists}, ${p.listens}) AS k,
    toUInt64(1 + floor(${LIST_ITEMS} * pow(${draw('n, 5')}, 2))) AS rank,
    if(recommended, concat('r', toString(k)), '') AS recommendation_id,
    toUInt64(${p.start} + intDiv(n * ${span(p)}, ${p.listens})) AS t,
    ${listUser(p, 'k')} AS u,
    ${listItem(p, 'k', 'rank', 'u')},
    concat('u', toString(if(recommended, u, ${activeUser(p, 't', 'n, 6')}))) AS user_id,
    multiIf(recommended, concat('pl', toString(${listPlaylist(p, 'k', 'rank')})),
      source = 'ORGANIC_PLAYLIST', concat('pl', toString(toUInt64(floor(${p.oldPlaylists} * pow(${draw('n, 7')}, 3))))),
      source = 'ALGORITHMIC', concat('alg', toString(toUInt64(floor(${p.algorithmicPlaylists} * pow(${draw('n, 7')}, 2))))), '') AS playlist_id,
    ${track(p, 'n, 8')} AS track_id,
    toUInt32(120000 + cityHash64(n, 9) % 240000) AS track_duration_ms,
    toUInt32(if(${draw('n, 11')} < 0.7, track_duration_ms * (0.5 + ${draw('n, 12')} / 2), 1000 + cityHash64(n, 12) % 29000)) AS ms_played,
    toDateTime(t) AS event_time
  FROM numbers(${count})
)`;
}

/**
 * Feedback [offset, offset + count), evenly over the window in row order. Three quarters are reactions to an item
 * of a list made before (impressions 60%, clicks 10%, follows 3%, dismissals 2% of all feedback; clicks and follows
 * lean to the top ranks), by the list's user; the rest are follows and unfollows outside any list, skips, likes and
 * unlikes of tracks, and a few kinds of a newer client.
 */
export function feedbackInsert(p: QueryBenchPlan, offset: number, count: number): string {
  return `INSERT INTO feedback_events (event_id, user_id, kind, track_id, playlist_id, recommendation_id, position, event_time, model_version, explanation)
SELECT event_id, user_id, kind, track_id, playlist_id, recommendation_id, position, event_time,
  if(listed, model_version, '') AS model_version, if(listed, explanation, '') AS explanation FROM (
  SELECT number + ${offset} AS n, ${uuid('n, 40')} AS event_id, cityHash64(n, 41) % 1000 AS d,
    multiIf(d < 600, 'IMPRESSION', d < 700, 'CLICK', d < 730, 'FOLLOW_PLAYLIST', d < 750, 'DISMISS', d < 770, 'FOLLOW_PLAYLIST',
      d < 780, 'UNFOLLOW_PLAYLIST', d < 880, 'SKIP', d < 960, 'LIKE_TRACK', d < 990, 'UNLIKE_TRACK', 'UNKNOWN') AS kind,
    d < 750 AS listed,
    intDiv(n * ${p.lists}, ${p.feedback}) AS k,
    toUInt64(if(kind = 'IMPRESSION', 1 + cityHash64(n, 42) % ${LIST_ITEMS}, 1 + floor(${LIST_ITEMS} * pow(${draw('n, 42')}, 2)))) AS rank,
    toUInt64(if(listed, ${listTime(p, 'k')} + cityHash64(n, 46) % 1800, ${p.start} + intDiv(n * ${span(p)}, ${p.feedback}))) AS t,
    ${listUser(p, 'k')} AS u,
    ${listItem(p, 'k', 'rank', 'u')},
    concat('u', toString(if(listed, u, ${activeUser(p, 't', 'n, 43')}))) AS user_id,
    if(listed, concat('r', toString(k)), '') AS recommendation_id,
    if(listed, toInt32(rank), toInt32(-1)) AS position,
    multiIf(listed, concat('pl', toString(${listPlaylist(p, 'k', 'rank')})),
      kind IN ('FOLLOW_PLAYLIST', 'UNFOLLOW_PLAYLIST'), concat('pl', toString(toUInt64(floor(${p.oldPlaylists} * pow(${draw('n, 44')}, 3))))), '') AS playlist_id,
    if(kind IN ('SKIP', 'LIKE_TRACK', 'UNLIKE_TRACK'), ${track(p, 'n, 45')}, '') AS track_id,
    toDateTime(t) AS event_time
  FROM numbers(${count})
)`;
}

/** The trainer's canary decisions over the second half (v2 with BPR v2 as canary against v2 with BPR v1). */
export function decisionsInsert(p: QueryBenchPlan): string {
  const half = p.start + span(p) / 2;
  const step = Math.floor(span(p) / 2 / p.decisions);
  return `INSERT INTO model_decisions (decision_id, model_name, canary_version, production_version, started_at, decided_at, decision, reason)
SELECT concat('d', toString(number)), 'bpr', 'buddies@emb:v2+bpr:v2', 'buddies@emb:v2+bpr:v1', toDateTime(${half} + number * ${step}),
  toDateTime(${half} + (number + 1) * ${step}), if(number + 1 = ${p.decisions}, 'promote', 'continue'), 'CTR and follow rate of the canary'
FROM numbers(${p.decisions})`;
}

/** Median and maximum of a non-empty sample. */
export function medianMax(xs: readonly number[]): { median: number; max: number } {
  if (xs.length === 0) throw new RangeError('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}

export type QueryVariant = 'as-is' | 'raw';

/** One query, one variant, all its runs. */
export interface QueryTiming {
  readonly name: string;
  /** 'as-is': the SQL of warehouse/queries.ts; 'raw': its raw-table equivalent (the reference). */
  readonly variant: QueryVariant;
  readonly reads: readonly string[];
  /** Client wall time per run, ms: request sent to result parsed. */
  readonly clientMs: readonly number[];
  /** Server time per run from system.query_log, ms (empty when the log could not be read). */
  readonly serverMs: readonly number[];
  readonly readRows?: number;
  readonly readBytes?: number;
  /** Peak memory of the query (largest over its runs), bytes. */
  readonly memoryBytes?: number;
  readonly resultRows?: number;
  /** The first line of the error that stopped its runs. */
  readonly error?: string;
}

export interface QueriesBenchResult {
  readonly startedAt: string;
  readonly clickhouseVersion: string;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly memoryGiB: number; readonly node: string; readonly loadBefore: readonly number[]; readonly loadAfter: readonly number[] };
  readonly plan: QueryBenchPlan;
  readonly runs: number;
  readonly sinceSeconds: number;
  /** Per table loaded: rows and seconds (for playlists, both inserts). */
  readonly load: ReadonlyArray<{ readonly table: string; readonly rows: number; readonly seconds: number }>;
  /** Seconds waited for background merges to finish before timing, and whether they did. */
  readonly mergeWait: { readonly seconds: number; readonly settled: boolean };
  /** Rows and active parts per table at the time of the measurement (views included). */
  readonly tables: ReadonlyArray<{ readonly table: string; readonly rows: number; readonly parts: number; readonly bytes: number }>;
  /** Whether sum(listens) of listen_hourly equals count() of listen_events (the view saw every insert). */
  readonly viewComplete: boolean;
  readonly timings: readonly QueryTiming[];
  /** Per query with a raw equivalent: whether the two gave the same rows (undefined when one failed). */
  readonly sameResult: Readonly<Record<string, boolean | undefined>>;
  /** Why rows read are missing, when system.query_log could not be read. */
  readonly queryLogNote?: string;
}

export interface QueriesBenchOptions {
  readonly config: BuddiesConfig;
  readonly events: number;
  readonly runs: number;
  /** Rows per INSERT ... SELECT (default 1,000,000). */
  readonly chunk?: number;
  /** Longest wait for background merges before timing, seconds (default 600). */
  readonly mergeWaitSeconds?: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The run was stopped (Ctrl-C); its database was dropped. */
export class QueriesBenchInterrupted extends Error {
  override readonly name = 'QueriesBenchInterrupted';
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split(/\n|, Stack trace:|Stack trace:/)[0]!.trim();

function client(cfg: BuddiesConfig, database: string): ClickHouseClient {
  return createClient({
    url: cfg.clickhouse.url, username: cfg.clickhouse.username ?? 'default', password: cfg.clickhouse.password ?? '', database,
    // loads and raw-table queries over millions of rows, and dropping them, outlast the warehouse client's minute
    request_timeout: 3_600_000,
    compression: { request: false, response: false },
    keep_alive: { enabled: true, eagerly_destroy_stale_sockets: true },
    log: { level: ClickHouseLogLevel.OFF },
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Loads the generated warehouse into a database of its own, times the queries, drops the database. */
export async function benchmarkQueries(opts: QueriesBenchOptions): Promise<QueriesBenchResult> {
  const { config, log, signal } = opts;
  const plan = queryBenchPlan(opts.events);
  const chunk = opts.chunk ?? 1_000_000;
  const runId = randomBytes(4).toString('hex');
  const database = `bench_queries_${runId}`;
  const idPrefix = `bench-queries-${runId}-`;
  let seq = 0;
  const queryId = (what: string) => `${idPrefix}${what}-${++seq}`;
  const admin = client(config, 'default');
  const db = client(config, database);
  let created = false;
  const stopped = () => {
    if (signal?.aborted) throw new QueriesBenchInterrupted('interrupted');
  };
  // a request the signal aborts leaves its query running on the server: kill our queries as well
  const killOurs = () => admin.command({ query: `KILL QUERY WHERE query_id LIKE '${idPrefix}%' SYNC` }).catch(() => undefined);
  const rows = async <T>(c: ClickHouseClient, query: string) => (await c.query({ query, format: 'JSONEachRow', query_id: queryId('meta'), abort_signal: signal })).json<T>();
  const loadBefore = loadavg();
  const startedAt = new Date().toISOString();
  try {
    const clickhouseVersion = (await rows<{ v: string }>(admin, 'SELECT version() AS v'))[0]?.v ?? 'unknown';
    stopped();
    log(`ClickHouse ${clickhouseVersion}; database ${database}: migrating`);
    created = true; // from here on the database may exist: drop it whatever happens
    await migrateWarehouse(warehouseOptions(config, database));
    stopped();

    const load: Array<{ table: string; rows: number; seconds: number }> = [];
    const insert = async (table: string, total: number, sqlOf: (offset: number, count: number) => string) => {
      const t0 = performance.now();
      for (let offset = 0; offset < total; offset += chunk) {
        const count = Math.min(chunk, total - offset);
        await db.command({ query: sqlOf(offset, count), query_id: queryId(`load-${table}`), abort_signal: signal });
        stopped();
        const secs = (performance.now() - t0) / 1000;
        log(`${table}: ${fmt(offset + count)} / ${fmt(total)} rows (${secs.toFixed(1)} s, ${fmt((offset + count) / secs)} rows/s)`);
      }
      load.push({ table, rows: total, seconds: (performance.now() - t0) / 1000 });
    };
    log(`loading ${fmt(plan.listens)} listens, ${fmt(plan.feedback)} feedback events, ${fmt(plan.lists)} lists of ${LIST_ITEMS}, ` +
      `${fmt(plan.oldPlaylists + plan.newPlaylists + plan.algorithmicPlaylists)} playlists; ${fmt(plan.users)} users over ${plan.days} days`);
    const t0 = performance.now();
    await db.command({ query: playlistsInsert(plan), query_id: queryId('load-playlists'), abort_signal: signal });
    await db.command({ query: playlistUpdatesInsert(plan), query_id: queryId('load-playlists'), abort_signal: signal });
    stopped();
    const playlistRows = Number((await rows<{ n: string }>(db, 'SELECT count() AS n FROM playlists'))[0]?.n ?? 0);
    load.push({ table: 'playlists', rows: playlistRows, seconds: (performance.now() - t0) / 1000 });
    log(`playlists: ${fmt(playlistRows)} rows (creates, updates, deletes)`);
    await insert('recommendations', plan.lists * LIST_ITEMS, (o, c) => recommendationsInsert(plan, o, c));
    await insert('listen_events', plan.listens, (o, c) => listensInsert(plan, o, c));
    await insert('feedback_events', plan.feedback, (o, c) => feedbackInsert(plan, o, c));
    await db.command({ query: decisionsInsert(plan), query_id: queryId('load-decisions'), abort_signal: signal });
    load.push({ table: 'model_decisions', rows: plan.decisions, seconds: 0 });

    // a warehouse that filled over weeks has merged its parts: let the merges of this load finish first
    const mergeLimit = opts.mergeWaitSeconds ?? 600;
    const m0 = performance.now();
    let settled = false;
    for (let quiet = 0, lastLog = 0; ;) {
      const merging = Number((await rows<{ n: string }>(admin, `SELECT count() AS n FROM system.merges WHERE database = '${database}'`))[0]?.n ?? 0);
      quiet = merging === 0 ? quiet + 1 : 0;
      const waited = (performance.now() - m0) / 1000;
      if (quiet >= 3) { settled = true; break; }
      if (waited > mergeLimit) break;
      if (waited - lastLog >= 30) { log(`waiting for background merges (${merging} running, ${waited.toFixed(0)} s)`); lastLog = waited; }
      await new Promise((r) => setTimeout(r, 2000)); // polling the server's merge list, not synchronising a test
      stopped();
    }
    const mergeWait = { seconds: (performance.now() - m0) / 1000, settled };
    log(settled ? `merges settled after ${mergeWait.seconds.toFixed(0)} s` : `merges still running after ${mergeLimit} s; timing anyway`);

    const tables = (await rows<{ table: string; rows: string; parts: string; bytes: string }>(admin,
      `SELECT table, sum(rows) AS rows, count() AS parts, sum(bytes) AS bytes FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY table`))
      .map((t) => ({ table: t.table, rows: Number(t.rows), parts: Number(t.parts), bytes: Number(t.bytes) }));
    const check = (await rows<{ hourly: string; raw: string }>(db, 'SELECT (SELECT sum(listens) FROM listen_hourly) AS hourly, (SELECT count() FROM listen_events) AS raw'))[0];
    const viewComplete = check !== undefined && check.hourly === check.raw;
    log(`listen_hourly: ${fmt(tables.find((t) => t.table === 'listen_hourly')?.rows ?? 0)} rows for ${fmt(Number(check?.raw ?? 0))} listens (${viewComplete ? 'complete' : 'INCOMPLETE'})`);

    // time: per run, every variant of a query in turn
    const since = plan.start;
    const variants = ANALYTICS_QUERIES.flatMap((q) => {
      const raw = rawEquivalent(q, since);
      return [{ q, variant: 'as-is' as const, sql: renderQuery(q, since) }, ...(raw ? [{ q, variant: 'raw' as const, sql: raw }] : [])];
    });
    const acc = variants.map((v) => ({ ...v, clientMs: [] as number[], ids: [] as string[], first: undefined as string | undefined, resultRows: undefined as number | undefined, error: undefined as string | undefined }));
    for (let run = 1; run <= opts.runs; run++) {
      for (const a of acc) {
        if (a.error) continue;
        const id = queryId(`q-${a.q.name}-${a.variant}-${run}`);
        const started = performance.now();
        try {
          const res = await (await db.query({ query: a.sql, format: 'JSON', query_id: id, clickhouse_settings: { log_queries: 1 }, abort_signal: signal })).json<Record<string, unknown>>();
          a.clientMs.push(performance.now() - started);
          a.ids.push(id);
          a.first ??= JSON.stringify(res.data);
          a.resultRows = res.data.length;
        } catch (err) {
          stopped();
          a.error = firstLine(err);
          log(`${a.q.name} (${a.variant}) failed: ${a.error}`);
        }
      }
      log(`run ${run}/${opts.runs}: ${acc.map((a) => `${a.q.name}${a.variant === 'raw' ? ' (raw)' : ''} ${a.clientMs.length >= run ? `${(a.clientMs[run - 1]! / 1000).toFixed(2)} s` : '–'}`).join(', ')}`);
    }

    let queryLogNote: string | undefined;
    const logged = new Map<string, { ms: number; readRows: number; readBytes: number; memory: number; resultRows: number }>();
    try {
      await admin.command({ query: 'SYSTEM FLUSH LOGS', query_id: queryId('flush') });
      const entries = await rows<{ query_id: string; ms: string; read_rows: string; read_bytes: string; memory: string; result_rows: string }>(admin,
        `SELECT query_id, query_duration_ms AS ms, read_rows, read_bytes, memory_usage AS memory, result_rows FROM system.query_log
         WHERE type = 2 AND event_date >= yesterday() AND query_id LIKE '${idPrefix}q-%'`);
      for (const e of entries) logged.set(e.query_id, { ms: Number(e.ms), readRows: Number(e.read_rows), readBytes: Number(e.read_bytes), memory: Number(e.memory), resultRows: Number(e.result_rows) });
      if (entries.length === 0) queryLogNote = 'system.query_log has no entries for these queries (is <query_log> configured on the server?)';
    } catch (err) {
      stopped();
      queryLogNote = `system.query_log could not be read: ${firstLine(err)}`;
    }
    const timings: QueryTiming[] = acc.map((a) => {
      const found = a.ids.map((id) => logged.get(id)).filter((x) => x !== undefined);
      const last = found[found.length - 1];
      return {
        name: a.q.name, variant: a.variant, reads: a.variant === 'raw' ? RAW_READS[a.q.name] ?? ['listen_events'] : a.q.reads, clientMs: a.clientMs, serverMs: found.map((f) => f.ms),
        ...(last ? { readRows: last.readRows, readBytes: last.readBytes, memoryBytes: Math.max(...found.map((f) => f.memory)) } : {}),
        ...(a.resultRows !== undefined ? { resultRows: a.resultRows } : {}),
        ...(a.error ? { error: a.error } : {}),
      };
    });
    const sameResult: Record<string, boolean | undefined> = {};
    for (const name of Object.keys(RAW_EQUIVALENTS)) {
      const [view, raw] = [acc.find((a) => a.q.name === name && a.variant === 'as-is'), acc.find((a) => a.q.name === name && a.variant === 'raw')];
      sameResult[name] = view?.first === undefined || raw?.first === undefined ? undefined : view.first === raw.first;
    }
    return {
      startedAt, clickhouseVersion,
      machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? 'unknown', memoryGiB: totalmem() / 2 ** 30, node: process.version, loadBefore, loadAfter: loadavg() },
      plan, runs: opts.runs, sinceSeconds: since, load, mergeWait, tables, viewComplete, timings, sameResult,
      ...(queryLogNote ? { queryLogNote } : {}),
    };
  } finally {
    if (signal?.aborted) await killOurs();
    if (created) {
      log(`dropping database ${database}`);
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch((err: unknown) => log(`could not drop database ${database} (drop it by hand): ${firstLine(err)}`));
    }
    await db.close();
    await admin.close();
  }
}

const secs = (ms: number | undefined) => (ms === undefined ? '–' : (ms / 1000).toFixed(ms < 10_000 ? 3 : 1));
const mib = (b: number | undefined) => (b === undefined ? '–' : b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
const count = (n: number | undefined) => (n === undefined ? '–' : fmt(n));

/** The timings as a Markdown table: one row per query and variant, the reference right under its query. */
export function queriesTable(timings: readonly QueryTiming[]): string {
  const lines = [
    '| query | reads | variant | median s | max s | server median s | rows read | data read | peak memory | result rows |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of timings) {
    const viewReader = readsOnlyViews(t.reads);
    const variant = t.variant === 'raw' ? 'raw tables (reference)' : viewReader ? 'views (warehouse/queries.ts)' : 'warehouse/queries.ts';
    if (t.clientMs.length === 0) {
      lines.push(`| ${t.name} | ${t.reads.join(', ')} | ${variant} | failed: ${(t.error ?? 'no run').replaceAll('|', '\\|')} | | | | | | |`);
      continue;
    }
    const c = medianMax(t.clientMs);
    const server = t.serverMs.length ? medianMax(t.serverMs).median : undefined;
    lines.push(`| ${t.name} | ${t.reads.join(', ')} | ${variant} | ${secs(c.median)} | ${secs(c.max)} | ${secs(server)} | ${count(t.readRows)} | ${mib(t.readBytes)} | ${mib(t.memoryBytes)} | ${count(t.resultRows)} |`);
  }
  return lines.join('\n');
}

/** The whole result as Markdown (bench/results/queries.md). */
export function queriesMarkdown(r: QueriesBenchResult, command: string): string {
  const p = r.plan;
  const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);
  const load = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  const viewTimings = r.timings.filter((t) => t.variant === 'as-is' && readsOnlyViews(t.reads));
  const median = (t: QueryTiming | undefined) => (t && t.clientMs.length ? medianMax(t.clientMs).median : undefined);
  const pairs = Object.keys(RAW_EQUIVALENTS).map((name) => {
    const view = median(r.timings.find((t) => t.name === name && t.variant === 'as-is'));
    const raw = median(r.timings.find((t) => t.name === name && t.variant === 'raw'));
    const same = r.sameResult[name];
    return `\`${name}\` ${secs(view)} s from the view, ${secs(raw)} s from the raw tables` +
      `${view && raw ? ` (${(raw / view).toFixed(0)}×)` : ''}, same rows: ${same === undefined ? 'not compared (a run failed)' : same ? 'yes' : '**NO**'}`;
  });
  return [
    `# The analysts' queries on ${fmt(p.listens)} listen events`,
    '',
    `Command: \`${command}\`.`,
    `Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB.toFixed(0)} GiB, shared with other work; ClickHouse ${r.clickhouseVersion} (Debian's, the local stack's`,
    `server with its default settings); Node ${r.machine.node}. Run: ${r.startedAt}. Load average (1, 5, 15 min) before: ${load(r.machine.loadBefore)}, after: ${load(r.machine.loadAfter)}.`,
    '',
    `Data: generated inside ClickHouse (\`INSERT ... SELECT ... FROM numbers()\`, hash-drawn: a rerun loads the same rows) into a fresh`,
    'database migrated with the project\'s migrations and dropped at the end, in time order and in chunks of up to a million rows, so',
    '`listen_hourly`, `reaction_hourly` and `playlist_first_seen` filled through their materialized views as they fill from the warehouse sink\'s inserts (reactions carry their list\'s model version and explanation, as the sink writes them).',
    `${fmt(p.listens)} listens over ${p.days} days (${day(p.start)} to ${day(p.start + p.days * 86_400 - 1)}) by ${fmt(p.users)} users (35% from organic playlists, two`,
    `in five of those from a Buddies list; 25% algorithmic, 10% radio, the rest library, search and unknown); ${fmt(p.feedback)} feedback events`,
    `(three quarters reactions to list items); ${fmt(p.lists)} recommendation lists of ${LIST_ITEMS} items (random, cold-start and personalised, three`,
    `model versions, one a canary); ${fmt(p.oldPlaylists + p.newPlaylists)} organic playlists by ${fmt(p.curators)} curators (${fmt(p.newPlaylists)} of them created during the window)`,
    `and ${fmt(p.algorithmicPlaylists)} algorithmic ones, a fifth of them updated or deleted later; ${p.decisions} canary decisions.`,
    '',
    '| table | rows loaded | load seconds | rows/s |',
    '| --- | ---: | ---: | ---: |',
    ...r.load.filter((l) => l.seconds > 0).map((l) => `| ${l.table} | ${fmt(l.rows)} | ${l.seconds.toFixed(1)} | ${fmt(l.rows / l.seconds)} |`),
    '',
    `Background merges ${r.mergeWait.settled ? 'settled' : 'were still running'} ${r.mergeWait.settled ? 'after' : 'at'} ${r.mergeWait.seconds.toFixed(0)} s; then, at the time of the measurement:`,
    '',
    '| table | rows | active parts | on disk |',
    '| --- | ---: | ---: | ---: |',
    ...r.tables.map((t) => `| ${t.table} | ${fmt(t.rows)} | ${t.parts} | ${mib(t.bytes)} |`),
    '',
    `The view saw every listen (sum of \`listen_hourly.listens\` = rows of \`listen_events\`): ${r.viewComplete ? 'yes' : '**NO**'}.`,
    '',
    `Each query ran ${r.runs} times with \`{since}\` = ${day(r.sinceSeconds)} (the whole data), the variants of a query one after the other within a run.`,
    'Median and max: the client\'s wall time, request to parsed JSON result, on loopback. Server median, rows read, data read and peak',
    `memory: \`system.query_log\` (\`log_queries=1\` on each query; rows and bytes of the last run, memory the largest).${r.queryLogNote ? ` ${r.queryLogNote}.` : ''}`,
    `ClickHouse ${r.clickhouseVersion.startsWith('18.') ? '18.16 sends no `X-ClickHouse-Summary` header (it came in later releases), hence the query log' : 'also sends `X-ClickHouse-Summary`; the query log gives the same counters on every version'}.`,
    '',
    queriesTable(r.timings),
    '',
    `Queries that read a view: ${viewTimings.map((t) => `\`${t.name}\` ${secs(median(t))} s`).join(', ')} (median; goal: under a second each on 10 million events).`,
    ...pairs.map((x) => `Reference: ${x}.`),
    '',
  ].join('\n');
}
