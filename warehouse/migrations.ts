/**
 * The warehouse schema, as ordered migrations. Each statement runs on ClickHouse 18.16 (Debian) and on
 * current releases: MergeTree with PARTITION BY / ORDER BY, DateTime (no DateTime64), no TTL, no
 * LowCardinality, no query parameters. Re-imports are idempotent: ReplacingMergeTree keyed on event ids,
 * read with FINAL (or after OPTIMIZE ... FINAL) for exact counts. Derived date columns are MATERIALIZED:
 * 18.16 does not fill DEFAULT columns omitted from JSONEachRow input.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** The listen_hourly columns from listen_events rows (played through: 30 s or half the track, as the taste model counts it). */
const LISTEN_HOURLY_SELECT = `toStartOfHour(event_time) AS hour, source, toUInt8(recommendation_id != '') AS recommended,
        count() AS listens, sum(toUInt64(ms_played)) AS listened_ms,
        sum(toUInt64(ms_played >= 30000 OR ms_played * 2 >= track_duration_ms)) AS played_through`;

/** A listen counts as played through at 30 s or half the track (as the taste model counts it), as 0 or 1. */
const PLAYED_THROUGH_ROW = 'toUInt64(ms_played >= 30000 OR ms_played * 2 >= track_duration_ms)';

/**
 * The explanation of a recommended playlist, from its reason: one of 'made by your buddy', 'followed by your buddy',
 * 'new from your buddy', 'random pick', 'popular' ({@link explanationOf} is the same rule for the sink).
 */
export const EXPLANATION_SQL = `multiIf(startsWith(reason, 'made by'), 'made by your buddy', startsWith(reason, 'followed by'), 'followed by your buddy',
    startsWith(reason, 'new from'), 'new from your buddy', startsWith(reason, 'random'), 'random pick', 'popular')`;

/** {@link EXPLANATION_SQL} in TypeScript: what the warehouse sink writes in a reaction's `explanation`. */
export function explanationOf(reason: string): string {
  if (reason.startsWith('made by')) return 'made by your buddy';
  if (reason.startsWith('followed by')) return 'followed by your buddy';
  if (reason.startsWith('new from')) return 'new from your buddy';
  if (reason.startsWith('random')) return 'random pick';
  return 'popular';
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'events',
    statements: [
      `CREATE TABLE IF NOT EXISTS listen_events (
        event_id String, user_id String, track_id String, playlist_id String, source String,
        ms_played UInt32, track_duration_ms UInt32, recommendation_id String,
        event_time DateTime, event_date Date MATERIALIZED toDate(event_time)
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (user_id, event_time, event_id)`,
      `CREATE TABLE IF NOT EXISTS feedback_events (
        event_id String, user_id String, kind String, track_id String, playlist_id String,
        recommendation_id String, position Int32, event_time DateTime, event_date Date MATERIALIZED toDate(event_time)
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (user_id, event_time, event_id)`,
    ],
  },
  {
    id: 2,
    name: 'catalogue',
    statements: [
      `CREATE TABLE IF NOT EXISTS playlists (
        playlist_id String, owner_id String, name String, num_tracks UInt32, followers UInt64, organic UInt8,
        deleted UInt8, version UInt64, updated_at DateTime
      ) ENGINE = ReplacingMergeTree(version) ORDER BY playlist_id`,
      `CREATE TABLE IF NOT EXISTS playlist_tracks (
        playlist_id String, pos UInt32, track_id String, version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (playlist_id, pos)`,
      `CREATE TABLE IF NOT EXISTS tracks (
        track_id String, track_name String, artist_id String, artist_name String, album_id String, album_name String,
        duration_ms UInt32
      ) ENGINE = ReplacingMergeTree ORDER BY track_id`,
    ],
  },
  {
    id: 3,
    name: 'recommendations and metrics',
    statements: [
      `CREATE TABLE IF NOT EXISTS recommendations (
        recommendation_id String, user_id String, rank UInt16, playlist_id String, score Float64, buddy_id String,
        taste_match Float32, reason String, model_version String, cold_start UInt8, generated_at DateTime,
        generated_date Date MATERIALIZED toDate(generated_at)
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(generated_date) ORDER BY (user_id, generated_at, recommendation_id, rank)`,
      `CREATE TABLE IF NOT EXISTS metrics (
        name String, value Float64, labels String, ts DateTime, date Date MATERIALIZED toDate(ts)
      ) ENGINE = MergeTree PARTITION BY toYYYYMM(date) ORDER BY (name, ts)`,
      `CREATE TABLE IF NOT EXISTS runs (
        run_id String, kind String, started_at DateTime, params String, metrics String, data_hash String,
        code_version String, artifact String
      ) ENGINE = ReplacingMergeTree ORDER BY run_id`,
    ],
  },
  {
    id: 4,
    name: 'run records',
    statements: [
      // the whole run record as JSON (the other columns stay for analysts), and when it was recorded
      // one statement (18.16 has no ADD COLUMN IF NOT EXISTS): it applies whole or not at all
      'ALTER TABLE runs ADD COLUMN record String, ADD COLUMN recorded_at UInt64',
    ],
  },
  {
    id: 5,
    name: 'playlist tracks in the playlist row',
    statements: [
      // a playlist's tracks go with its row, so the latest version (or a delete's tombstone) replaces them whole
      'ALTER TABLE playlists ADD COLUMN tracks Array(String)',
    ],
  },
  {
    id: 6,
    name: 'playlist membership follows updates and deletes',
    statements: [
      // backfill: each playlist's tracks at its current version, from the old per-position table (a rerun reads
      // the view below, which gives the same rows; an equal version inserted later wins the tie)
      `INSERT INTO playlists (playlist_id, owner_id, name, num_tracks, followers, organic, deleted, version, updated_at, tracks)
      SELECT playlist_id, owner_id, name, num_tracks, followers, organic, deleted, version, updated_at, tracks
      FROM (SELECT playlist_id, owner_id, name, num_tracks, followers, organic, deleted, version, updated_at FROM playlists FINAL WHERE deleted = 0) AS p
      ALL INNER JOIN (
        SELECT playlist_id, version, arrayMap(x -> x.2, arraySort(groupUniqArray((pos, track_id)))) AS tracks
        FROM playlist_tracks GROUP BY playlist_id, version
      ) AS t USING (playlist_id, version)`,
      'DROP TABLE IF EXISTS playlist_tracks',
      // the old name, now a view: one row per track of each live playlist at its latest version
      `CREATE VIEW IF NOT EXISTS playlist_tracks AS
      SELECT playlist_id, toUInt32(n - 1) AS pos, track_id, version
      FROM playlists FINAL ARRAY JOIN tracks AS track_id, arrayEnumerate(tracks) AS n WHERE deleted = 0`,
    ],
  },
  {
    id: 7,
    name: 'hourly listening and playlist first-seen views',
    statements: [
      // listening per hour, source and whether a Buddies list led to it; summed on merge (read with sum() ... GROUP BY)
      `CREATE TABLE IF NOT EXISTS listen_hourly (
        hour DateTime, source String, recommended UInt8, listens UInt64, listened_ms UInt64, played_through UInt64
      ) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(hour) ORDER BY (hour, source, recommended)`,
      // backfill from the folded raw events, once (a rerun finds the table filled); then the view takes new inserts
      `INSERT INTO listen_hourly
      SELECT ${LISTEN_HOURLY_SELECT} FROM listen_events FINAL WHERE (SELECT count() FROM listen_hourly) = 0 GROUP BY hour, source, recommended`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS listen_hourly_mv TO listen_hourly AS
      SELECT ${LISTEN_HOURLY_SELECT} FROM listen_events GROUP BY hour, source, recommended`,
      // when each playlist was first seen (its CREATE); min() is idempotent, so replays change nothing
      `CREATE TABLE IF NOT EXISTS playlist_first_seen (
        playlist_id String, first_seen AggregateFunction(min, DateTime)
      ) ENGINE = AggregatingMergeTree ORDER BY playlist_id`,
      `INSERT INTO playlist_first_seen
      SELECT playlist_id, minState(updated_at) AS first_seen FROM playlists WHERE (SELECT count() FROM playlist_first_seen) = 0 GROUP BY playlist_id`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS playlist_first_seen_mv TO playlist_first_seen AS
      SELECT playlist_id, minState(updated_at) AS first_seen FROM playlists GROUP BY playlist_id`,
    ],
  },
  {
    id: 8,
    name: 'model decisions',
    statements: [
      // one row per canary decision of the trainer: which list model version ran as canary against which production one
      `CREATE TABLE IF NOT EXISTS model_decisions (
        decision_id String, model_name String, canary_version String, production_version String,
        started_at DateTime, decided_at DateTime, decision String, reason String
      ) ENGINE = ReplacingMergeTree ORDER BY decision_id`,
    ],
  },
  {
    id: 9,
    name: 'feedback attributed to the list that led to it',
    statements: [
      // the model version of the recommendation list and the explanation of the playlist the feedback is about, which
      // the warehouse sink looks up when it writes the row ('' when the feedback is not about a Buddies list)
      'ALTER TABLE feedback_events ADD COLUMN model_version String, ADD COLUMN explanation String',
    ],
  },
  {
    id: 10,
    name: 'listens attributed to the list that led to them',
    statements: [
      'ALTER TABLE listen_events ADD COLUMN model_version String, ADD COLUMN explanation String',
    ],
  },
  {
    id: 11,
    name: 'hourly reactions to recommended playlists',
    statements: [
      // impressions, clicks, follows, dismissals and listens that came from a Buddies list, per hour of the reaction, model
      // version and explanation; summed on merge (read with sum() ... GROUP BY)
      `CREATE TABLE IF NOT EXISTS reaction_hourly (
        hour DateTime, model_version String, explanation String,
        impressions UInt64, clicks UInt64, follows UInt64, dismissals UInt64, listens UInt64, played_through UInt64
      ) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(hour) ORDER BY (hour, model_version, explanation)`,
      // backfill, once (a rerun finds the table filled): the rows written before the sink attributed them, joined to
      // their lists as the raw queries join them
      `INSERT INTO reaction_hourly
      SELECT hour, model_version, explanation, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(follows) AS follows,
        sum(dismissals) AS dismissals, sum(listens) AS listens, sum(played_through) AS played_through
      FROM (
        SELECT toStartOfHour(event_time) AS hour, recommendation_id, playlist_id, toUInt64(kind = 'IMPRESSION') AS impressions,
          toUInt64(kind = 'CLICK') AS clicks, toUInt64(kind = 'FOLLOW_PLAYLIST') AS follows, toUInt64(kind = 'DISMISS') AS dismissals,
          toUInt64(0) AS listens, toUInt64(0) AS played_through
        FROM feedback_events FINAL WHERE recommendation_id != '' AND (SELECT count() FROM reaction_hourly) = 0
        UNION ALL
        SELECT toStartOfHour(event_time) AS hour, recommendation_id, playlist_id, toUInt64(0) AS impressions, toUInt64(0) AS clicks,
          toUInt64(0) AS follows, toUInt64(0) AS dismissals, toUInt64(1) AS listens, ${PLAYED_THROUGH_ROW} AS played_through
        FROM listen_events FINAL WHERE recommendation_id != '' AND (SELECT count() FROM reaction_hourly) = 0
      ) AS e
      ALL INNER JOIN (
        SELECT recommendation_id, playlist_id, any(model_version) AS model_version, argMin(${EXPLANATION_SQL}, rank) AS explanation
        FROM recommendations FINAL GROUP BY recommendation_id, playlist_id
      ) AS r USING (recommendation_id, playlist_id)
      GROUP BY hour, model_version, explanation`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS feedback_reaction_hourly_mv TO reaction_hourly AS
      SELECT toStartOfHour(event_time) AS hour, model_version, explanation, countIf(kind = 'IMPRESSION') AS impressions,
        countIf(kind = 'CLICK') AS clicks, countIf(kind = 'FOLLOW_PLAYLIST') AS follows, countIf(kind = 'DISMISS') AS dismissals,
        toUInt64(0) AS listens, toUInt64(0) AS played_through
      FROM feedback_events WHERE model_version != '' GROUP BY hour, model_version, explanation`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS listen_reaction_hourly_mv TO reaction_hourly AS
      SELECT toStartOfHour(event_time) AS hour, model_version, explanation, toUInt64(0) AS impressions, toUInt64(0) AS clicks,
        toUInt64(0) AS follows, toUInt64(0) AS dismissals, count() AS listens, sum(${PLAYED_THROUGH_ROW}) AS played_through
      FROM listen_events WHERE model_version != '' GROUP BY hour, model_version, explanation`,
    ],
  },
  {
    id: 12,
    name: 'canary decisions with their numbers, and retraining triggers',
    statements: [
      // the counts and tests behind each canary decision of the lifecycle controller (lifecycle/); the whole check as JSON in
      // numbers (rule, rates, z and p of each test); one statement, so it applies whole or not at all
      `ALTER TABLE model_decisions ADD COLUMN canary_impressions UInt64, ADD COLUMN canary_clicks UInt64, ADD COLUMN canary_follows UInt64,
        ADD COLUMN production_impressions UInt64, ADD COLUMN production_clicks UInt64, ADD COLUMN production_follows UInt64,
        ADD COLUMN ctr_z Float64, ADD COLUMN ctr_p Float64, ADD COLUMN follow_z Float64, ADD COLUMN follow_p Float64,
        ADD COLUMN failed_checks UInt32, ADD COLUMN share Float64, ADD COLUMN numbers String`,
      // one row per retraining trigger of the degradation monitor: which model version fell, on which metric, from what to what
      `CREATE TABLE IF NOT EXISTS model_triggers (
        trigger_id String, model_version String, metric String, recent Float64, baseline Float64, drop_share Float64, threshold Float64,
        recent_samples UInt64, baseline_samples UInt64, reason String, triggered_at DateTime
      ) ENGINE = ReplacingMergeTree ORDER BY trigger_id`,
    ],
  },
];
