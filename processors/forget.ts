import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type AvroSerde, type TopicKey, type TypedProducer } from '../streams/index.js';
import { forgetUserRows, userRowCounts } from '../warehouse/index.js';
import { inspectUser, knowsUser } from './inspect.js';
import { readPlaylistTable } from './playlist-table.js';
import { SINK_TOPICS } from './warehouse-sink.js';

export interface ForgetOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly producer: TypedProducer;
  readonly userId: string;
  /** The recommender's application id (its group must process the request). */
  readonly recommenderApplicationId: string;
  /** Warehouse sink applications are `${groupPrefix}.warehouse.${topic}`. */
  readonly groupPrefix: string;
  /** The warehouse: the user's rows are deleted once the sink has written everything of theirs. */
  readonly warehouse?: { readonly client: ClickHouseClient; readonly database: string };
  /** How long to wait for the processors to take the request in (default 60 s). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ForgetResult {
  readonly userId: string;
  /** Playlists the user made, deleted (a DELETE event each). */
  readonly playlists: number;
  /** Rows left per ClickHouse table (all 0), or undefined without a warehouse. */
  readonly rowsLeft?: Record<string, number>;
}

/** The processors did not take the request in within the time given (not running, or far behind). */
export class ForgetPendingError extends Error {
  override readonly name = 'ForgetPendingError';
  constructor(readonly group: string, readonly userId: string) {
    super(`the request to forget ${userId} is queued, but consumer group ${group} has not processed it yet`);
  }
}

/**
 * The right to be forgotten. Writes a FORGET_USER event to the user's feedback partition (so every processor
 * handles it in order with the user's other events: the recommender drops their state and writes tombstones for
 * their taste, pairing and latest list; the interaction windows drop theirs) and a DELETE event for each playlist
 * they made; waits until the recommender and the warehouse sink have processed everything up to it; then deletes
 * their rows from ClickHouse and checks that the live system and the warehouse no longer know them.
 */
export async function forgetUser(o: ForgetOptions): Promise<ForgetResult> {
  const { kafka, serde, producer, userId } = o;
  const log = o.log ?? (() => {});
  const topics = serde.topics;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const now = Date.now();

  const owned = [...(await readPlaylistTable(kafka, serde)).values()].filter((p) => p.ownerId === userId);
  const deletes = await producer.send('playlists', owned.map((p) => ({
    key: p.playlistId,
    value: { eventId: randomUUID(), playlistId: p.playlistId, kind: 'DELETE' as const, ownerId: '', name: '', tracks: [], followers: 0, organic: false, eventTime: Math.max(now, p.eventTime + 1) },
  })));
  if (owned.length > 0) log(`forget: ${owned.length} playlist(s) made by ${userId} deleted`);
  const [sent] = await producer.send('feedback', [{ key: userId, value: {
    eventId: randomUUID(), userId, kind: 'FORGET_USER', trackId: null, playlistId: null, recommendationId: null, position: null, eventTime: now,
  } }]);
  if (!sent) throw new Error('the FORGET_USER event was not acknowledged');
  const partition = sent.partition;
  const forgetOffset = BigInt(sent.baseOffset ?? sent.offset ?? '0');
  log(`forget: request written to ${topics.name('feedback')}[${partition}]@${forgetOffset}`);

  const admin = kafka.admin();
  await admin.connect();
  try {
    const highOf = async (key: TopicKey, p: number): Promise<bigint> => {
      const offsets = await admin.fetchTopicOffsets(topics.name(key));
      return BigInt(offsets.find((x) => x.partition === p)?.high ?? '0');
    };
    /** Waits until `group` has committed at least `offset` on partition `p` of `key`. */
    const waitFor = async (group: string, key: TopicKey, p: number, offset: bigint) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [t] = await admin.fetchOffsets({ groupId: group, topics: [topics.name(key)] });
        const committed = BigInt(t?.partitions.find((x) => x.partition === p)?.offset ?? '-1');
        if (committed >= offset) return;
        if (Date.now() > deadline) throw new ForgetPendingError(group, userId);
        await delay(250); // polling another process's progress
      }
    };
    await waitFor(o.recommenderApplicationId, 'feedback', partition, forgetOffset + 1n);
    log(`forget: ${o.recommenderApplicationId} dropped ${userId}'s state`);
    if (o.warehouse) {
      // everything of the user's that the sink may still write: up to now on their partitions, and the deletes
      const marks: Array<[TopicKey, number, bigint]> = [
        ['listens', partition, await highOf('listens', partition)],
        ['feedback', partition, forgetOffset + 1n],
        ['recommendations', partition, await highOf('recommendations', partition)],
      ];
      for (const d of deletes) marks.push(['playlists', d.partition, BigInt(d.baseOffset ?? d.offset ?? '0') + 1n]);
      for (const [key, p, offset] of marks) {
        if (!(SINK_TOPICS as readonly TopicKey[]).includes(key)) continue;
        await waitFor(`${o.groupPrefix}.warehouse.${key}`, key, p, offset);
      }
      const rows = await forgetUserRows(o.warehouse.client, o.warehouse.database, userId, { timeoutMs });
      log(`forget: ${rows.statements.length} ClickHouse mutations done`);
    }
  } finally {
    await admin.disconnect();
  }
  const left = await inspectUser({ kafka, serde, applicationId: o.recommenderApplicationId, userId });
  if (knowsUser(left)) throw new Error(`${userId} is still known to the live system after the forget: ${JSON.stringify(left)}`);
  const rowsLeft = o.warehouse ? await userRowCounts(o.warehouse.client, userId) : undefined;
  if (rowsLeft && Object.values(rowsLeft).some((n) => n > 0)) throw new Error(`rows of ${userId} are left in ClickHouse: ${JSON.stringify(rowsLeft)}`);
  return { userId, playlists: owned.length, ...(rowsLeft ? { rowsLeft } : {}) };
}
