/**
 * The gateway's table of each user's latest recommendation list: the state that lets a client get its current list
 * the moment it subscribes, with no Kafka replay per connection.
 *
 * Where the state lives: in this process's memory only, as the JSON frame of each user's newest list (one string
 * per user). How it comes back: at start, every instance reads the recommendations topic from the beginning of its
 * retention (7 days), every partition itself, through a consumer group of its own (a fresh random id, no offsets
 * committed), so instances share nothing, need no sticky sessions, and a restarted one rebuilds the same table;
 * `start` resolves once the end offsets the topic had at the call are read. It then follows the topic live and
 * calls the listeners for each new list. Reads are read_committed: a list whose transaction aborted never shows.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
// importing streams/index.js installs its read_committed filter for kafkajs (see streams/read-committed.ts)
import { errorMessage, withRetry, type AvroSerde, type RecommendationList } from '../streams/index.js';

/** One user's newest list as the gateway keeps and sends it. */
export interface LatestList {
  readonly userId: string;
  /** The `recommendations` frame, serialized once and sent as it is to every subscriber. */
  readonly frame: string;
  readonly generatedAt: number;
  /** The Kafka record's timestamp: when the recommender wrote it (its transaction commits right after). */
  readonly writtenAt: number;
}

export interface LatestLists {
  /** Starts reading; resolves once caught up with the topic's end offsets at the call. Called once. */
  start(): Promise<void>;
  /** Leaves the topic. Idempotent. */
  stop(): Promise<void>;
  get(userId: string): LatestList | undefined;
  readonly size: number;
  /** Records that did not decode (skipped and logged). */
  readonly skipped: number;
  /** True once caught up, until the consumer stops or crashes for good. */
  readonly live: boolean;
  /** Called for every list that arrives once caught up (not for those read while catching up). Returns an unsubscribe. */
  onList(fn: (entry: LatestList) => void): () => void;
}

export interface LatestListsOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  /** Prefix of the consumer group id; a random suffix makes it this instance's own. */
  readonly groupPrefix?: string;
  readonly log?: (line: string) => void;
  /** Rejects `start` if not caught up in this time (default 300 s). */
  readonly timeoutMs?: number;
}

/** Records handled between two turns of the event loop once live. */
const YIELD_EVERY = 64;
/** Batches (one per partition) handled at once. */
const PARTITIONS_CONCURRENTLY = 3;

/** The frame of a list: the record as it is, plus `type` (docs/gateway.md). */
export function recommendationsFrame(list: RecommendationList): string {
  return JSON.stringify({ type: 'recommendations', ...list });
}

export function createLatestLists(opts: LatestListsOptions): LatestLists {
  const { kafka, serde } = opts;
  const log = opts.log ?? (() => {});
  const topic = serde.topics.name('recommendations');
  const rows = new Map<string, LatestList>();
  const listeners = new Set<(entry: LatestList) => void>();
  let skipped = 0;
  let caughtUp = false;
  let running = false;
  let consumer: Consumer | undefined;
  return {
    get: (userId) => rows.get(userId),
    get size() { return rows.size; },
    get skipped() { return skipped; },
    get live() { return caughtUp && running; },
    onList(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async start() {
      const started = Date.now();
      const admin = kafka.admin();
      await admin.connect();
      const ends = await withRetry(() => admin.fetchTopicOffsets(topic), { retries: 8, initialMs: 100, maxMs: 2000 }).finally(() => admin.disconnect());
      const want = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
      const reached = new Map<number, bigint>();
      let records = 0;
      let resolveReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => { resolveReady = resolve; });
      const check = () => {
        for (const [p, end] of want) if ((reached.get(p) ?? -1n) < end) return;
        resolveReady();
      };
      const c = kafka.consumer({ groupId: `${opts.groupPrefix ?? 'buddies-gateway'}-lists-${randomBytes(6).toString('hex')}`, readUncommitted: false });
      consumer = c;
      // progress from END_BATCH_PROCESS, which comes for batches of only control or aborted records too (those never
      // reach eachBatch), so a partition whose tail is an aborted transaction still counts as caught up
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = BigInt(payload.lastOffset);
        if (last > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, last);
        if (!caughtUp) check();
      });
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart) {
          running = false;
          log(`latest lists: the consumer of ${topic} stopped for good: ${errorMessage(payload.error)}`);
        }
      });
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({
        autoCommit: false, // nothing to resume: every start reads the whole retention
        // the partitions' batches are decoded and pushed side by side (a user's lists are all in one partition, so each
        // user's order stands), so one partition's large batch does not hold back the lists of the others
        partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
        eachBatch: async ({ batch }) => {
          let n = 0;
          for (const m of batch.messages) {
            // once live, a large batch is handled in slices with the event loop let through between them, so sockets
            // get written and other work runs instead of waiting for the whole batch
            if (caughtUp && ++n % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
            if (!m.key) continue;
            const userId = m.key.toString();
            records++;
            if (m.value === null) {
              rows.delete(userId);
              continue;
            }
            let list: RecommendationList;
            try {
              list = await serde.decode('recommendations', m.value);
            } catch (err) {
              if (skipped++ < 10) log(`latest lists: skipped ${topic}[${batch.partition}]@${m.offset}: ${errorMessage(err)}`);
              continue;
            }
            const entry: LatestList = { userId, frame: recommendationsFrame(list), generatedAt: list.generatedAt, writtenAt: Number(m.timestamp) };
            rows.set(userId, entry);
            if (caughtUp) for (const fn of listeners) fn(entry);
          }
        },
      });
      running = true;
      check();
      const timeoutMs = opts.timeoutMs ?? 300_000;
      const total = ends.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0);
      const progress = setInterval(() => log(`latest lists: ${records} of about ${total} records of ${topic} read, ${rows.size} users`), 5000);
      progress.unref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`latest lists: ${topic} not caught up in ${timeoutMs} ms`)), timeoutMs); }),
      ]).finally(() => { clearTimeout(timer); clearInterval(progress); });
      caughtUp = true;
      log(`latest lists: ${rows.size} users from ${records} records of ${topic} in ${((Date.now() - started) / 1000).toFixed(1)} s; following live`);
    },
    async stop() {
      running = false;
      const c = consumer;
      consumer = undefined;
      await c?.disconnect();
    },
  };
}
