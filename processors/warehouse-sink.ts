import type { ClickHouseClient } from '@clickhouse/client';
import type { AvroTopicKey, FeedbackEvent, ListenEvent, PlaylistEvent, RecommendationList, TaskRecord, Topology, TopicValues } from '../streams/index.js';
import { BuddiesError, TransientError, errorMessage } from '../streams/index.js';
import { explanationOf, sqlString } from '../warehouse/index.js';
import { EVENT_RULES } from './validation.js';

/** One row for one ClickHouse table. */
export interface TableRow {
  readonly table: string;
  readonly row: Record<string, string | number | readonly string[]>;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export function listenRows(e: ListenEvent): TableRow[] {
  return [{ table: 'listen_events', row: {
    event_id: e.eventId, user_id: e.userId, track_id: e.trackId, playlist_id: e.playlistId ?? '', source: e.source,
    ms_played: e.msPlayed, track_duration_ms: e.trackDurationMs, recommendation_id: e.recommendationId ?? '', event_time: seconds(e.eventTime),
    model_version: '', explanation: '',
  } }];
}

export function feedbackRows(e: FeedbackEvent): TableRow[] {
  if (e.kind === 'FORGET_USER') return []; // the request to forget a user is not kept as a row of theirs
  return [{ table: 'feedback_events', row: {
    event_id: e.eventId, user_id: e.userId, kind: e.kind, track_id: e.trackId ?? '', playlist_id: e.playlistId ?? '',
    recommendation_id: e.recommendationId ?? '', position: e.position ?? -1, event_time: seconds(e.eventTime),
    model_version: '', explanation: '',
  } }];
}

/**
 * A playlist's latest state wins (ReplacingMergeTree on the event time), its tracks with it, so membership follows
 * updates and deletes (the `playlist_tracks` view unfolds them); a delete keeps a tombstone row without tracks.
 */
export function playlistRows(e: PlaylistEvent): TableRow[] {
  if (e.kind === 'UNKNOWN') return []; // a kind from a newer writer: not ours to interpret
  const version = e.eventTime;
  const deleted = e.kind === 'DELETE';
  return [
    { table: 'playlists', row: {
      playlist_id: e.playlistId, owner_id: e.ownerId, name: e.name, num_tracks: deleted ? 0 : e.tracks.length, followers: e.followers,
      organic: e.organic ? 1 : 0, deleted: deleted ? 1 : 0, version, updated_at: seconds(e.eventTime), tracks: deleted ? [] : e.tracks,
    } },
  ];
}

export function recommendationRows(r: RecommendationList): TableRow[] {
  return r.items.map((it) => ({ table: 'recommendations', row: {
    recommendation_id: r.recommendationId, user_id: r.userId, rank: it.rank, playlist_id: it.playlistId, score: it.score,
    buddy_id: it.explanation.buddyId ?? '', taste_match: it.explanation.tasteMatch, reason: it.explanation.reason,
    model_version: r.modelVersion, cold_start: r.coldStart ? 1 : 0, generated_at: seconds(r.generatedAt),
  } }));
}

/** A listen or feedback event whose time is more than `maxFutureSkewMs` ahead of `now`, at `now` (the validation rule). */
export function clampEventTime<T extends TopicValues[SinkTopic]>(topic: SinkTopic, value: T, now: number, maxFutureSkewMs: number): T {
  if (topic !== 'listens' && topic !== 'feedback') return value;
  const e = value as ListenEvent | FeedbackEvent;
  return e.eventTime > now + maxFutureSkewMs ? { ...value, eventTime: now } : value;
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
 * Tables that feed summing views (`listen_hourly`): a row whose event id is already stored is not inserted again,
 * so a replay after a crash, or a re-import, counts once in the views as in the raw table. Looked up by the
 * table's primary-key prefix (the user), so the check reads only the batch's users' ranges.
 */
const WRITE_ONCE: Readonly<Record<string, { readonly user: string; readonly id: string }>> = {
  listen_events: { user: 'user_id', id: 'event_id' },
  feedback_events: { user: 'user_id', id: 'event_id' },
};

/** Tables whose rows carry the model version and explanation of the recommended playlist they react to (`reaction_hourly` sums them). */
const ATTRIBUTED = new Set(['listen_events', 'feedback_events']);

/** What a reaction is attributed to: the list's model version and the playlist's explanation, by `recommendationId/playlistId`. */
export type Attribution = ReadonlyMap<string, { readonly modelVersion: string; readonly explanation: string }>;

const attributionKey = (recommendationId: string, playlistId: string) => `${recommendationId}/${playlistId}`;

/** The explanation of a reaction to a list about a playlist that the list did not hold (the model version is the list's). */
export const NOT_IN_THE_LIST = 'not in the list';

/** The attribution of every item of these lists (what the sink looks up in `recommendations`; fixtures build it the same way). */
export function attributionOf(lists: Iterable<{ readonly recommendationId: string; readonly modelVersion: string; readonly items: ReadonlyArray<{ readonly playlistId: string; readonly rank: number; readonly explanation: { readonly reason: string } }> }>): Map<string, { modelVersion: string; explanation: string }> {
  const out = new Map<string, { modelVersion: string; explanation: string }>();
  for (const l of lists) {
    out.set(attributionKey(l.recommendationId, ''), { modelVersion: l.modelVersion, explanation: NOT_IN_THE_LIST });
    // a playlist listed twice is explained by its best-ranked item (as the warehouse lookup's argMin(reason, rank))
    const byRank = [...l.items].sort((a, b) => b.rank - a.rank);
    for (const it of byRank) out.set(attributionKey(l.recommendationId, it.playlistId), { modelVersion: l.modelVersion, explanation: explanationOf(it.explanation.reason) });
  }
  return out;
}

/**
 * A listen or feedback row with its list's model version and its playlist's explanation filled in; unchanged when it
 * reacts to no list, or to one (or a playlist of it) that `lists` does not hold.
 */
export function attributeRow(row: TableRow['row'], lists: Attribution): TableRow['row'] {
  const rec = String(row.recommendation_id ?? '');
  if (rec === '') return row;
  const a = lists.get(attributionKey(rec, String(row.playlist_id ?? ''))) ?? lists.get(attributionKey(rec, ''));
  return a ? { ...row, model_version: a.modelVersion, explanation: a.explanation } : row;
}

/** Reactions whose list is not in the warehouse yet: the batch is retried until it is, or until the wait is over. */
export class ListNotYetStoredError extends TransientError {}

/** The attributions of the rows' lists stored in `recommendations`, looked up by the table's primary-key prefix (the user). */
async function storedAttribution(client: ClickHouseClient, rows: ReadonlyArray<TableRow['row']>): Promise<Attribution> {
  const wanted = rows.filter((r) => String(r.recommendation_id ?? '') !== '');
  if (wanted.length === 0) return new Map();
  const users = [...new Set(wanted.map((r) => String(r.user_id)))].map(sqlString).join(', ');
  const ids = [...new Set(wanted.map((r) => String(r.recommendation_id)))].map(sqlString).join(', ');
  const stored = await (await client.query({
    query: `SELECT recommendation_id, playlist_id, any(model_version) AS model_version, argMin(reason, rank) AS reason FROM recommendations
      WHERE user_id IN (${users}) AND recommendation_id IN (${ids}) GROUP BY recommendation_id, playlist_id`,
    format: 'JSONEachRow',
  })).json<{ recommendation_id: string; playlist_id: string; model_version: string; reason: string }>();
  const out = new Map<string, { modelVersion: string; explanation: string }>();
  for (const r of stored) {
    out.set(attributionKey(r.recommendation_id, ''), { modelVersion: r.model_version, explanation: NOT_IN_THE_LIST });
    out.set(attributionKey(r.recommendation_id, r.playlist_id), { modelVersion: r.model_version, explanation: explanationOf(r.reason) });
  }
  return out;
}

/** The rows that react to a list that `lists` does not hold. */
function unattributed(rows: ReadonlyArray<TableRow['row']>, lists: Attribution): Array<TableRow['row']> {
  return rows.filter((r) => String(r.recommendation_id ?? '') !== '' && !lists.has(attributionKey(String(r.recommendation_id), '')));
}

/** The entries whose event id is neither earlier in the batch nor stored already (all of them for other tables). */
async function notYetStored<E extends { readonly row: TableRow['row'] }>(client: ClickHouseClient, table: string, entries: readonly E[]): Promise<E[]> {
  const key = WRITE_ONCE[table];
  if (!key || entries.length === 0) return [...entries];
  const inBatch = new Set<string>();
  const fresh = entries.filter((e) => {
    const id = String(e.row[key.id]);
    if (inBatch.has(id)) return false;
    inBatch.add(id);
    return true;
  });
  const users = [...new Set(fresh.map((e) => String(e.row[key.user])))].map(sqlString).join(', ');
  const ids = [...inBatch].map(sqlString).join(', ');
  const stored = await (await client.query({
    query: `SELECT ${key.id} AS id FROM ${table} WHERE ${key.user} IN (${users}) AND ${key.id} IN (${ids})`, format: 'JSONEachRow',
  })).json<{ id: string }>();
  if (stored.length === 0) return fresh;
  const have = new Set(stored.map((r) => r.id));
  return fresh.filter((e) => !have.has(String(e.row[key.id])));
}

/**
 * ClickHouse error codes that mean "this data cannot go in": a row it rejects is dead-lettered with the server's
 * message; any other failure (connection refused or reset, timeouts, too many parts, memory, 5xx) is passing and
 * retried. The HTTP status does not tell them apart (18.16 answers some parse errors with 500).
 */
const REJECTED_ROW_CODES = new Set([
  6, 25, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 321, 349,
]);

/** The server's error code of a ClickHouse client error, when the server answered. */
function clickHouseCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  const n = typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : typeof code === 'number' ? code : undefined;
  if (n !== undefined) return n;
  const m = /^Code: (\d+)/.exec(errorMessage(err));
  return m ? Number(m[1]) : undefined;
}

export function isRejectedRow(err: unknown): boolean {
  const code = clickHouseCode(err);
  return code !== undefined && REJECTED_ROW_CODES.has(code);
}

/** ClickHouse refused a row: its record goes to the dead-letter topic with the server's message. */
export class RejectedRowError extends BuddiesError {
  override readonly name = 'RejectedRowError';
  readonly retriable = false;
  readonly code = 'WAREHOUSE_REJECTED';
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0]!.replace(/, e\.what\(\) = DB::Exception$/, '');
}

export interface WarehouseSinkOptions {
  readonly topic: SinkTopic;
  readonly client: ClickHouseClient;
  /** The consumer group; `<prefix>.warehouse.<topic>` keeps the offsets of earlier versions. */
  readonly applicationId: string;
  /**
   * How long a batch of listens or feedback waits for the lists they react to to reach the warehouse (the
   * recommendations sink writes them, in parallel) before its rows go in unattributed (default 10 s). Only a batch
   * with a reaction from the last `attributionWaitMs` (event time) waits: an older one is a replay, whose lists are
   * in the warehouse already or not coming.
   */
  readonly attributionWaitMs?: number;
  /** Called with the number of rows written without their list's model version (it never arrived in time). */
  readonly onUnattributed?: (rows: number, table: string) => void;
  /** Clock (tests). */
  readonly now?: () => number;
  /**
   * Listens and feedback stamped further ahead of the clock are written at the time they are received, as the
   * other processors clamp them (processors/validation.ts; default `EVENT_RULES.maxFutureSkewMs`, 1 h). Without it a
   * fast clock (a simulation) put event times days ahead into the warehouse, where no wall-clock window sees them.
   */
  readonly maxFutureSkewMs?: number;
}

export const DEFAULT_ATTRIBUTION_WAIT_MS = 10_000;

/**
 * Writes a topic's records to ClickHouse, at least once: each task buffers its batch's rows and inserts them
 * (JSONEachRow) in `flush`, before the offsets commit. Replays after a crash insert the same rows again, which the
 * ReplacingMergeTree tables fold away (read with FINAL); listens already stored are skipped (see WRITE_ONCE), so the
 * hourly views they feed count each once. A passing ClickHouse failure is retried by the runtime
 * for as long as it lasts, holding only the one batch (nothing more is fetched); a row that ClickHouse rejects is
 * found by inserting the batch's rows one by one and is dead-lettered with the server's message, and the rest go in.
 */
export function createWarehouseSinkTopology(opts: WarehouseSinkOptions): Topology<SinkTopic> {
  const mapper = ROW_MAPPERS[opts.topic] as (v: TopicValues[SinkTopic]) => TableRow[];
  return {
    applicationId: opts.applicationId,
    inputs: [opts.topic],
    guarantee: 'at-least-once',
    processor: () => {
      const now = opts.now ?? Date.now;
      const wait = opts.attributionWaitMs ?? DEFAULT_ATTRIBUTION_WAIT_MS;
      /** When this task's current batch first found a list missing (reset once a batch goes in). */
      let waitingSince: number | undefined;
      let buffer = new Map<string, Array<{ readonly row: TableRow['row']; readonly record: TaskRecord<SinkTopic> }>>();
      const insert = (table: string, values: ReadonlyArray<TableRow['row']>) => opts.client.insert({ table, values: [...values], format: 'JSONEachRow' });
      return {
        process(record) {
          const rows = mapper(clampEventTime(opts.topic, record.value, now(), opts.maxFutureSkewMs ?? EVENT_RULES.maxFutureSkewMs)); // map first: a record that fails to map adds nothing
          for (const { table, row } of rows) {
            const list = buffer.get(table) ?? [];
            list.push({ row, record });
            buffer.set(table, list);
          }
        },
        async flush(ctx) {
          const pending = buffer;
          buffer = new Map();
          try {
            const ready: Array<[string, Array<{ readonly row: TableRow['row']; readonly record: TaskRecord<SinkTopic> }>]> = [];
            for (const [table, all] of pending) {
              let entries = await notYetStored(opts.client, table, all);
              if (entries.length === 0) continue;
              if (ATTRIBUTED.has(table)) {
                const lists = await storedAttribution(opts.client, entries.map((e) => e.row));
                const missing = unattributed(entries.map((e) => e.row), lists);
                if (missing.length > 0) {
                  // a list may still be on its way only for a recent reaction; an old one (a replay) goes in as it is
                  const t = now();
                  const recent = missing.some((r) => Number(r.event_time) * 1000 > t - wait);
                  waitingSince ??= t;
                  if (recent && t - waitingSince < wait) throw new ListNotYetStoredError(`${missing.length} ${table} rows react to recommendation lists not in the warehouse yet: waiting for them`);
                  opts.onUnattributed?.(missing.length, table);
                }
                entries = entries.map((e) => ({ ...e, row: attributeRow(e.row, lists) }));
              }
              ready.push([table, entries]);
            }
            waitingSince = undefined;
            for (const [table, entries] of ready) {
              try {
                await insert(table, entries.map((e) => e.row));
              } catch (err) {
                if (!isRejectedRow(err)) throw err;
                // find the rows ClickHouse rejects; the good ones go in (again, if some were: the tables fold them)
                const dead = new Set<TaskRecord<SinkTopic>>();
                for (const e of entries) {
                  if (dead.has(e.record)) continue;
                  try {
                    await insert(table, [e.row]);
                  } catch (rowErr) {
                    if (!isRejectedRow(rowErr)) throw rowErr;
                    dead.add(e.record);
                    ctx.deadLetter(e.record, new RejectedRowError(`ClickHouse rejected a row of ${table}: ${firstLine(rowErr)}`, { table }));
                  }
                }
              }
            }
          } catch (err) {
            buffer = pending; // a passing failure: the runtime calls flush again with the same batch
            if (err instanceof ListNotYetStoredError) throw err;
            throw new TransientError(`ClickHouse insert failed: ${firstLine(err)}`, {}, { cause: err });
          }
        },
      };
    },
  };
}
