import type { ClickHouseClient } from '@clickhouse/client';
import type { AvroTopicKey, FeedbackEvent, ListenEvent, PlaylistEvent, Processor, RecommendationList, TopicValues } from '../streams/index.js';
import { TransientError, errorMessage } from '../streams/index.js';

/** One row for one ClickHouse table. */
export interface TableRow {
  readonly table: string;
  readonly row: Record<string, string | number>;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export function listenRows(e: ListenEvent): TableRow[] {
  return [{ table: 'listen_events', row: {
    event_id: e.eventId, user_id: e.userId, track_id: e.trackId, playlist_id: e.playlistId ?? '', source: e.source,
    ms_played: e.msPlayed, track_duration_ms: e.trackDurationMs, recommendation_id: e.recommendationId ?? '', event_time: seconds(e.eventTime),
  } }];
}

export function feedbackRows(e: FeedbackEvent): TableRow[] {
  return [{ table: 'feedback_events', row: {
    event_id: e.eventId, user_id: e.userId, kind: e.kind, track_id: e.trackId ?? '', playlist_id: e.playlistId ?? '',
    recommendation_id: e.recommendationId ?? '', position: e.position ?? -1, event_time: seconds(e.eventTime),
  } }];
}

/** A playlist's latest state wins (ReplacingMergeTree on the event time); a delete keeps a tombstone row. */
export function playlistRows(e: PlaylistEvent): TableRow[] {
  if (e.kind === 'UNKNOWN') return []; // a kind from a newer writer: not ours to interpret
  const version = e.eventTime;
  const deleted = e.kind === 'DELETE';
  return [
    { table: 'playlists', row: {
      playlist_id: e.playlistId, owner_id: e.ownerId, name: e.name, num_tracks: deleted ? 0 : e.tracks.length, followers: e.followers,
      organic: e.organic ? 1 : 0, deleted: deleted ? 1 : 0, version, updated_at: seconds(e.eventTime),
    } },
    ...(deleted ? [] : e.tracks.map((t, pos) => ({ table: 'playlist_tracks', row: { playlist_id: e.playlistId, pos, track_id: t, version } }))),
  ];
}

export function recommendationRows(r: RecommendationList): TableRow[] {
  return r.items.map((it) => ({ table: 'recommendations', row: {
    recommendation_id: r.recommendationId, user_id: r.userId, rank: it.rank, playlist_id: it.playlistId, score: it.score,
    buddy_id: it.explanation.buddyId ?? '', taste_match: it.explanation.tasteMatch, reason: it.explanation.reason,
    model_version: r.modelVersion, cold_start: r.coldStart ? 1 : 0, generated_at: seconds(r.generatedAt),
  } }));
}

export const ROW_MAPPERS = {
  listens: listenRows,
  feedback: feedbackRows,
  playlists: playlistRows,
  recommendations: recommendationRows,
} as const satisfies Partial<{ [K in AvroTopicKey]: (v: TopicValues[K]) => TableRow[] }>;

export type SinkTopic = keyof typeof ROW_MAPPERS;

/** The topics the warehouse sink reads. */
export const SINK_TOPICS = Object.keys(ROW_MAPPERS) as SinkTopic[];

/**
 * Writes a topic's records to ClickHouse: rows are buffered per batch and inserted (JSONEachRow) when the
 * runner flushes, before the offsets commit. Replays after a crash insert the same rows again, which the
 * ReplacingMergeTree tables fold away (read with FINAL).
 */
export function createWarehouseSink<K extends SinkTopic>(topic: K, client: ClickHouseClient): Processor<K> & { readonly written: number } {
  const mapper = ROW_MAPPERS[topic] as (v: TopicValues[K]) => TableRow[];
  let buffer = new Map<string, Array<Record<string, string | number>>>();
  let written = 0;
  let flushing: Promise<void> = Promise.resolve();

  async function flushOnce(): Promise<void> {
    // take what is buffered now; rows added meanwhile (another partition's batch) wait for the next flush
    const pending = buffer;
    buffer = new Map();
    for (const [table, values] of pending) {
      try {
        await client.insert({ table, values, format: 'JSONEachRow' });
      } catch (err) {
        for (const [t, rows] of pending) buffer.set(t, [...rows, ...(buffer.get(t) ?? [])]); // retried by the next flush
        throw new TransientError(`ClickHouse insert into ${table} failed: ${errorMessage(err)}`, { table }, { cause: err });
      }
      written += values.length;
      pending.delete(table);
    }
  }

  return {
    get written() { return written; },
    process(record) {
      for (const { table, row } of mapper(record.value)) {
        const rows = buffer.get(table) ?? [];
        rows.push(row);
        buffer.set(table, rows);
      }
    },
    flush() {
      // Flushes run one after another: a batch's rows may ride in an earlier batch's flush, so a batch
      // commits only after every flush that started before its own has landed (or put its rows back).
      const run = flushing.then(flushOnce);
      flushing = run.catch(() => {});
      return run;
    },
  };
}
