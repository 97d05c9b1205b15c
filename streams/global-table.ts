import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { errorMessage, isRetriable } from './errors.js';
import { installReadCommittedFilter } from './read-committed.js';
import { withRetry } from './retry.js';
import type { AvroSerde } from './serde.js';
import type { AvroTopicKey, TopicValues } from './topics.js';

// kafkajs's own read_committed filter lets through records of overlapping aborted transactions
installReadCommittedFilter();

/** A table that every instance of an application holds whole, fed from a (compacted) topic. */
export interface GlobalTableSpec<K extends AvroTopicKey> {
  readonly name: string;
  readonly topic: K;
  /**
   * Called after each applied record, during the catch-up and live, with the key and its new value (undefined:
   * deleted by a tombstone): for a process-wide view derived from the table (an index, a catalogue).
   */
  onChange?(key: string, value: TopicValues[K] | undefined): void;
}

export function globalTableSpec<K extends AvroTopicKey>(name: string, topic: K, onChange?: (key: string, value: TopicValues[K] | undefined) => void): GlobalTableSpec<K> {
  return onChange ? { name, topic, onChange } : { name, topic };
}

/** What processors see of a global table: read-only, the latest value per record key. */
export interface ReadonlyTable<V> {
  get(key: string): V | undefined;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

export interface GlobalTable<V> extends ReadonlyTable<V> {
  /** Subscribes from the beginning and resolves once the end offsets the topic had at the call are read. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Records of the topic that did not decode (skipped: a global table has no dead-letter topic of its own). */
  readonly skipped: number;
}

export interface GlobalTableOptions<K extends AvroTopicKey> {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly spec: GlobalTableSpec<K>;
  /** Prefix of the throwaway consumer group (a fresh one per instance, so every instance reads everything). */
  readonly groupPrefix: string;
  /** Called after each applied record: a key and its new value (undefined: deleted). */
  readonly onChange?: (key: string, value: TopicValues[K] | undefined) => void;
  readonly log?: (line: string) => void;
  /** Rejects `start` if the table is not caught up in this time (default 120 s). */
  readonly timeoutMs?: number;
  /**
   * The table's consumer crashed for good after `start` resolved (kafkajs gave up restarting it): the table no
   * longer follows its topic. The app stops and exits, so that its supervisor restarts it (default: logs).
   */
  readonly onFatal?: (err: unknown) => void;
}

/**
 * Kafka Streams' GlobalKTable: a whole topic, read by every instance into memory, caught up before the
 * application processes anything, then kept up to date live. Keys are the records' keys; a null value (a
 * tombstone) deletes. Reads are of the latest applied record, so a processor may see a table a little behind
 * the topic (as with Kafka Streams).
 */
export function createGlobalTable<K extends AvroTopicKey>(opts: GlobalTableOptions<K>): GlobalTable<TopicValues[K]> {
  const { kafka, serde, spec } = opts;
  const log = opts.log ?? (() => {});
  const topic = serde.topics.name(spec.topic);
  const rows = new Map<string, TopicValues[K]>();
  let skipped = 0;
  let consumer: Consumer | undefined;
  return {
    get: (key) => rows.get(key),
    entries: () => rows.entries(),
    get size() { return rows.size; },
    get skipped() { return skipped; },
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      const ends = await withRetry(() => admin.fetchTopicOffsets(topic), { retries: 8, initialMs: 100, maxMs: 2000 }).finally(() => admin.disconnect());
      const want = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
      const reached = new Map<number, bigint>();
      let caughtUp: () => void = () => {};
      let crashed: (err: unknown) => void = () => {};
      const ready = new Promise<void>((resolve, reject) => { caughtUp = resolve; crashed = reject; });
      let started = false;
      const check = () => {
        for (const [p, end] of want) if ((reached.get(p) ?? -1n) < end) return;
        caughtUp();
      };
      consumer = kafka.consumer({ groupId: `${opts.groupPrefix}-global-${spec.name}-${randomBytes(5).toString('hex')}`, readUncommitted: false });
      // progress from END_BATCH_PROCESS, which also comes for batches of only control or aborted records (those
      // never reach eachBatch), so a partition whose tail is an aborted transaction still counts as caught up
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = BigInt(payload.lastOffset);
        if (last > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, last);
        check();
      });
      // a crash kafkajs does not restart from: during the catch-up, start fails at once (not after its timeout); later,
      // the app is told, since a table that silently stops following its topic would serve stale data for ever
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        const err = new Error(`global table ${spec.name}: its consumer of ${topic} crashed: ${errorMessage(payload.error)}`, { cause: payload.error });
        if (!started) crashed(err);
        else if (opts.onFatal) opts.onFatal(err);
        else log(err.message);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch, heartbeat }) => {
          for (const m of batch.messages) {
            if (!m.key) continue;
            const key = m.key.toString();
            if (m.value === null) {
              rows.delete(key);
              opts.onChange?.(key, undefined);
              spec.onChange?.(key, undefined);
              continue;
            }
            let value: TopicValues[K];
            try {
              // the registry unreachable is waited out (heartbeats go on), never taken for a bad record
              value = await withRetry(() => serde.decode(spec.topic, m.value as Buffer), {
                retries: Number.MAX_SAFE_INTEGER, initialMs: 200, maxMs: 10_000, retriable: isRetriable,
                onRetry: (err, attempt, wait) => {
                  log(`global table ${spec.name}: retry ${attempt} in ${wait} ms: ${errorMessage(err)}`);
                  void heartbeat().catch(() => {});
                },
              });
            } catch (err) {
              skipped++;
              log(`global table ${spec.name}: skipped ${topic}[${batch.partition}]@${m.offset}: ${errorMessage(err)}`);
              continue;
            }
            rows.set(key, value);
            opts.onChange?.(key, value);
            spec.onChange?.(key, value);
          }
        },
      });
      check();
      const timeoutMs = opts.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`global table ${spec.name}: ${topic} not caught up in ${timeoutMs} ms`)), timeoutMs); }),
      ]).finally(() => clearTimeout(timer));
      started = true;
      log(`global table ${spec.name}: ${rows.size} entries from ${topic}, caught up`);
    },
    async stop() {
      await consumer?.disconnect();
    },
  };
}
