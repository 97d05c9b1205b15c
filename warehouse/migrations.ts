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
];
