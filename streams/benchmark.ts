import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from './admin.js';
import { createStreamsApp } from './app.js';
import { createCountingTopology, USER_COUNTS } from './counting.js';
import { createTypedProducer } from './producer.js';
import type { FeedbackEvent, ListenEvent } from './records.js';
import type { AvroSerde } from './serde.js';
import { restoreStore } from './snapshot.js';
import { createTaskStore, type TaskStore } from './store.js';
import { changelogTopic } from './topology.js';
import { TOPICS, type TopicKey } from './topics.js';

export interface RuntimeBenchOptions {
  readonly kafka: Kafka;
  /** A serde whose topic names carry a prefix of the benchmark's own (its topics are created and deleted). */
  readonly serde: AvroSerde;
  readonly events: number;
  /** Distinct keys (users) the events spread over (default 10,000). */
  readonly users?: number;
  readonly log?: (line: string) => void;
}

export interface RuntimeBenchResult {
  readonly events: number;
  readonly users: number;
  /** kafkajs consuming the pre-produced records, nothing else (records per second). */
  readonly rawConsumePerSec: number;
  /** kafkajs consuming them and the serde decoding each (bound checks, Avro), no state, no transactions. */
  readonly decodePerSec: number;
  /** The exactly-once counting topology over the same records: decode, store, changelog, transactions. */
  readonly eosPerSec: number;
  /** Restoring that topology's store from its changelog, as a task does on assignment. */
  readonly restorePerSec: number;
  readonly changelogRecords: number;
  /**
   * Seconds of each step; rawConsume, decode and eos from the consumer's first fetch request to the last record
   * processed, less (the app) the wait for its tasks after the first fetch came back.
   */
  readonly seconds: { readonly produce: number; readonly rawConsume: number; readonly decode: number; readonly eos: number; readonly restore: number };
  /** CPU seconds of the benchmark's process over the same spans. */
  readonly cpuSeconds: { readonly rawConsume: number; readonly decode: number; readonly eos: number };
  /** Seconds before those spans: kafkajs's group join; the app's changelog topics, join and task set-up. */
  readonly setupSeconds: { readonly rawConsume: number; readonly decode: number; readonly eos: number };
  /** Seconds of each consumer's first fetch, request to response (in the spans). */
  readonly firstFetchSeconds: { readonly rawConsume: number; readonly decode: number; readonly eos: number };
  /** Seconds the app's first fetched records waited for its tasks to be built (not in the eos span). */
  readonly waitedForTasksSeconds: number;
}

const BENCH_TOPICS: readonly TopicKey[] = ['listens', 'feedback', 'interactionWindows', 'deadLetters'];

/** When a consumer's timed span starts and ends: wall clock and this process's CPU time. */
interface Mark {
  readonly at: number;
  readonly cpu: NodeJS.CpuUsage;
}

const mark = (): Mark => ({ at: performance.now(), cpu: process.cpuUsage() });

/** A consumer's first fetch (kafkajs's `consumer.fetch_start` and `consumer.fetch` events): where its span starts. */
class FirstFetch {
  start: Mark | undefined;
  end: Mark | undefined;
  readonly started = (): void => {
    this.start ??= mark();
  };
  readonly ended = (): void => {
    if (this.start) this.end ??= mark();
  };
}

/** One consumer's timing (see {@link timeRecords}). */
export interface RecordTiming {
  /** Seconds in the span: from the first fetch request to the last record, less any wait for tasks. */
  readonly seconds: number;
  /** CPU seconds of this process (every thread: the consumer, its decoding, GC) in the same span. */
  readonly cpuSeconds: number;
  /** Seconds before the first fetch request: connecting, joining the group (the app: creating topics too). */
  readonly setup: number;
  /** Seconds the first fetch took, request to response (in the span). */
  readonly firstFetch: number;
  /** Seconds from the first fetch's response until the consumer could process it (the app building its tasks), not in the span. */
  readonly waitedForTasks: number;
}

/**
 * Times a consumer from its first fetch request to the last record counted. The first fetch is in the span:
 * kafkajs hands over nothing before it has read up to ~10 MB of records. The group join before it is not.
 * `ready` says when the consumer can process at all (the app: every task fenced and restored); if the first
 * fetch's records arrive before that, the wait for the tasks is left out of the span (and its CPU time with it)
 * and reported apart, so that every consumer is charged for fetching and processing and nothing else.
 */
async function timeRecords(count: () => number, n: number, what: string, timeoutMs: number, fetch: FirstFetch, ready: () => boolean = () => true): Promise<RecordTiming> {
  const start = performance.now();
  const deadline = Date.now() + timeoutMs;
  let readyAt: Mark | undefined;
  for (;;) {
    if (readyAt === undefined && ready()) readyAt = mark();
    if (count() >= n) break;
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const end = mark();
  const from = fetch.start ?? end;
  const fetched = fetch.end ?? from;
  // a wait for tasks after the first fetch came back: [fetched, readyAt]
  const resumed = readyAt !== undefined && readyAt.at > fetched.at ? readyAt : fetched;
  const cpu = (m: Mark) => (m.cpu.user + m.cpu.system) / 1e6;
  return {
    seconds: (end.at - resumed.at + fetched.at - from.at) / 1000,
    cpuSeconds: cpu(end) - cpu(resumed) + cpu(fetched) - cpu(from),
    setup: (from.at - start) / 1000,
    firstFetch: (fetched.at - from.at) / 1000,
    waitedForTasks: (resumed.at - fetched.at) / 1000,
  };
}

/**
 * Measures the stream runtime against raw kafkajs in one run on the running broker: N records (two thirds
 * listens, one third feedback) are produced once; then kafkajs consumes them with no processing; then the
 * exactly-once counting topology (streams/counting.ts) processes the same records; then its store is restored
 * from the changelog the run wrote. Creates its topics under the serde's prefix and deletes them afterwards.
 */
export async function benchmarkRuntime(opts: RuntimeBenchOptions): Promise<RuntimeBenchResult> {
  const { kafka, serde } = opts;
  const log = opts.log ?? (() => {});
  const users = opts.users ?? 10_000;
  const n = opts.events;
  if (!Number.isInteger(n) || n < 1) throw new RangeError('events must be a positive integer');
  const topics = serde.topics;
  const appId = `bench-runtime-${randomBytes(4).toString('hex')}`;
  await ensureTopics(kafka, topics, BENCH_TOPICS);
  const created = [...BENCH_TOPICS.map((k) => topics.name(k)), changelogTopic(topics.prefix, appId, USER_COUNTS.name)];
  try {
    let t = performance.now();
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    const chunk = 10_000;
    for (let from = 0; from < n; from += chunk) {
      const listens: ListenEvent[] = [];
      const feedback: FeedbackEvent[] = [];
      for (let i = from; i < Math.min(n, from + chunk); i++) {
        const userId = `u${i % users}`;
        if (i % 3 === 2) feedback.push({ eventId: `f${i}`, userId, kind: 'SKIP', trackId: 't', playlistId: null, recommendationId: null, position: null, eventTime: i });
        else listens.push({ eventId: `l${i}`, userId, trackId: 't', playlistId: null, source: 'LIBRARY', msPlayed: 1000, trackDurationMs: 2000, eventTime: i, recommendationId: null });
      }
      await producer.send('listens', listens.map((v) => ({ key: v.userId, value: v })));
      await producer.send('feedback', feedback.map((v) => ({ key: v.userId, value: v })));
      log(`produced ${Math.min(n, from + chunk)}/${n}`);
    }
    await producer.disconnect();
    const produce = (performance.now() - t) / 1000;

    // kafkajs alone: consume both inputs, count, nothing else
    let consumed = 0;
    const raw = kafka.consumer({ groupId: `${appId}-raw`, readUncommitted: false });
    const rawFetch = new FirstFetch();
    raw.on(raw.events.FETCH_START, rawFetch.started);
    raw.on(raw.events.FETCH, rawFetch.ended);
    await raw.connect();
    await raw.subscribe({ topics: [topics.name('listens'), topics.name('feedback')], fromBeginning: true });
    const rawRun = raw.run({ partitionsConsumedConcurrently: 3, eachBatch: async ({ batch }) => { consumed += batch.messages.length; } });
    const rawTime = await timeRecords(() => consumed, n, 'kafkajs to consume every record', 600_000, rawFetch);
    await rawRun;
    await raw.disconnect();
    log(`kafkajs: ${n} records in ${rawTime.seconds.toFixed(2)} s (after ${rawTime.setup.toFixed(2)} s of set-up)`);

    // kafkajs and the Avro serde: what any decoding consumer pays, without state or transactions
    let decoded = 0;
    const dec = kafka.consumer({ groupId: `${appId}-decode`, readUncommitted: false });
    const decFetch = new FirstFetch();
    dec.on(dec.events.FETCH_START, decFetch.started);
    dec.on(dec.events.FETCH, decFetch.ended);
    await dec.connect();
    await dec.subscribe({ topics: [topics.name('listens'), topics.name('feedback')], fromBeginning: true });
    const listensTopic = topics.name('listens');
    const decRun = dec.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        const key = batch.topic === listensTopic ? 'listens' : 'feedback';
        for (const m of batch.messages) {
          await serde.decode(key, m.value as Buffer);
          decoded++;
        }
      },
    });
    const decodeTime = await timeRecords(() => decoded, n, 'kafkajs and the serde to decode every record', 600_000, decFetch);
    await decRun;
    await dec.disconnect();
    log(`kafkajs + Avro decode: ${n} records in ${decodeTime.seconds.toFixed(2)} s`);

    // the exactly-once counting topology over the same records
    const eosFetch = new FirstFetch();
    const app = createStreamsApp({ kafka, serde, topology: createCountingTopology({ applicationId: appId, forward: false }), log, observer: { fetchStart: eosFetch.started, fetchEnd: eosFetch.ended } });
    const started = app.start();
    const eosTime = await timeRecords(() => app.stats.processed, n, 'the counting topology to process every record', 600_000, eosFetch, () => app.ready());
    await started;
    await app.stop();
    log(`exactly-once counting: ${n} records in ${eosTime.seconds.toFixed(2)} s (after ${eosTime.setup.toFixed(2)} s of set-up and ${eosTime.waitedForTasks.toFixed(2)} s waiting for tasks; ${app.stats.batches} transactions)`);

    // restoring its store from the changelog, partition by partition, as tasks do
    t = performance.now();
    let changelogRecords = 0;
    for (let p = 0; p < TOPICS.listens.partitions; p++) {
      changelogRecords += await restoreStore(kafka, changelogTopic(topics.prefix, appId, USER_COUNTS.name), p, createTaskStore(USER_COUNTS) as TaskStore<unknown>);
    }
    const restore = (performance.now() - t) / 1000;
    log(`restore: ${changelogRecords} changelog records in ${restore.toFixed(1)} s`);
    return {
      events: n, users, rawConsumePerSec: n / rawTime.seconds, decodePerSec: n / decodeTime.seconds, eosPerSec: n / eosTime.seconds, restorePerSec: changelogRecords / restore, changelogRecords,
      seconds: { produce, rawConsume: rawTime.seconds, decode: decodeTime.seconds, eos: eosTime.seconds, restore },
      cpuSeconds: { rawConsume: rawTime.cpuSeconds, decode: decodeTime.cpuSeconds, eos: eosTime.cpuSeconds },
      setupSeconds: { rawConsume: rawTime.setup, decode: decodeTime.setup, eos: eosTime.setup },
      firstFetchSeconds: { rawConsume: rawTime.firstFetch, decode: decodeTime.firstFetch, eos: eosTime.firstFetch },
      waitedForTasksSeconds: eosTime.waitedForTasks,
    };
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: created.filter((x) => existing.has(x)) }).catch(() => {});
    await admin.disconnect();
  }
}
