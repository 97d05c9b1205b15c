import type { KafkaMessage, Message, Producer, TopicMessages } from 'kafkajs';
import { deadLetterMessage } from './dead-letter.js';
import { BuddiesError, ValidationError, errorMessage, isRetriable } from './errors.js';
import { encodeRecords, type OutRecord } from './producer.js';
import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs, withRetry, type RetryOptions } from './retry.js';
import type { AvroSerde } from './serde.js';
import { createTaskStore, storeSpec, type StoreSpec, type TaskStore } from './store.js';
import { changelogTopic, type TaskContext, type TaskProcessor, type TaskRecord, type Topology } from './topology.js';
import type { GlobalTableSpec, ReadonlyTable } from './global-table.js';
import type { AvroTopicKey, TopicValues } from './topics.js';

/**
 * The runtime's own store: per input topic, the next offset of the task's partition, written in every batch's
 * transaction. A new owner reads it from the changelog after fencing the old one: a read_committed read waits
 * for the old owner's last commit markers, where the group's committed offsets may lag behind them for a moment
 * (kafkajs cannot ask for stable offsets), so no batch is processed twice.
 */
export const OFFSETS_STORE = storeSpec<number>('__offsets');

/** Counters of an application (or a test driver). */
export interface StreamsAppStats {
  processed: number;
  /** Output records written (committed or not yet), dead letters and changelogs not counted. */
  forwarded: number;
  deadLettered: number;
  batches: number;
  aborts: number;
  retries: number;
  /** Tasks rebuilt after their producer was fenced or left unusable. */
  taskRebuilds: number;
  restoredRecords: number;
  restoreSeconds: number;
}

/** Hooks for metrics: called as things happen (the counters in {@link StreamsAppStats} say how many so far). */
export interface StreamsObserver {
  /** A batch committed: its task, records and wall time. */
  batch?(partition: number, records: number, seconds: number): void;
  /** A record went to the dead-letter topic; `code` as in its `dlq.reason.code` header. */
  deadLetter?(code: string): void;
  /** The app's consumer starts a fetch request (kafkajs's `consumer.fetch_start`; `buddies bench runtime` times from the first). */
  fetchStart?(): void;
  /** A fetch request of the app's consumer came back (kafkajs's `consumer.fetch`), before its batches are processed. */
  fetchEnd?(): void;
}

export function emptyStats(): StreamsAppStats {
  return { processed: 0, forwarded: 0, deadLettered: 0, batches: 0, aborts: 0, retries: 0, taskRebuilds: 0, restoredRecords: 0, restoreSeconds: 0 };
}

/** One task: partition p of every input, its stores and its processor. */
export interface Task<I extends AvroTopicKey> {
  readonly partition: number;
  /** exactly-once on a broker: the task's own transactional producer (`<applicationId>-<partition>`). */
  readonly producer: Producer | undefined;
  readonly stores: ReadonlyMap<string, TaskStore<unknown>>;
  /** The same stores in an array: marked and rolled back per record, without an iterator each time. */
  readonly storeList: readonly TaskStore<unknown>[];
  readonly processor: TaskProcessor<I>;
  /** The context `process` gets; its outputs and dead letters collect in `out` and `dead`, emptied per record. */
  readonly ctx: TaskContext;
  readonly out: Outputs;
  readonly dead: DeadLetters;
  /** Per input topic, the first offset not yet committed when the task was built (after fencing the old owner). */
  readonly startOffsets: ReadonlyMap<string, bigint>;
  streamTime: number;
  /** Serialises the task's batches and punctuations. */
  queue: Promise<unknown>;
  timers: NodeJS.Timeout[];
  /** Per stream-time schedule (index into the topology's `punctuate`), the stream time of its next tick; 0 before the first record. */
  readonly nextStreamPunctuation: Map<number, number>;
  /** Records fetched but not yet processed, one queue per input (used with two inputs or more). */
  readonly group: PartitionGroup;
  /** When the task began waiting for an empty input that is not caught up (0: not waiting). */
  blockedSince: number;
  /** Ends that wait after the idle time when no further batch of the task comes. */
  idleTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

/** A task's fetched, unprocessed records of one input (Kafka Streams' RecordQueue), in offset order. */
export interface InputQueue {
  /** Index of the input in the topology's `inputs`: the tie-break between equal timestamps. */
  readonly index: number;
  readonly topic: string;
  readonly messages: KafkaMessage[];
  readonly timestamps: number[];
  /** Position of the next record to process in `messages`. */
  head: number;
  /** The offset after the last record buffered: a record fetched again below it is in the queue already (or done). */
  bufferedNext: number;
  /** The offset after the last fetched batch, control records included (-1: none since the queue was cleared). */
  fetchedNext: number;
  /** The partition's high watermark when last seen (-1: unknown). */
  highWatermark: number;
}

/**
 * Kafka Streams' PartitionGroup: the fetched records of a task's inputs, handed out in timestamp order. The input
 * whose head record has the lowest timestamp goes next; equal timestamps go by input order (the topology's
 * `inputs`), and within an input records stay in offset order. Whether to wait for an empty input is the caller's
 * call: the app waits while the broker has more of it (see `createStreamsApp`), the test driver only when asked to.
 */
export class PartitionGroup {
  readonly queues: readonly InputQueue[];
  private count = 0;

  constructor(topics: readonly string[]) {
    this.queues = topics.map((topic, index) => ({ index, topic, messages: [], timestamps: [], head: 0, bufferedNext: -1, fetchedNext: -1, highWatermark: -1 }));
  }

  /** Records buffered in every queue together. */
  get size(): number {
    return this.count;
  }

  static length(q: InputQueue): number {
    return q.messages.length - q.head;
  }

  add(q: InputQueue, message: KafkaMessage): void {
    q.messages.push(message);
    q.timestamps.push(Number(message.timestamp));
    q.bufferedNext = Number(message.offset) + 1;
    this.count++;
  }

  /** The queue whose head has the lowest timestamp (ties: the earlier input), or undefined when all are empty. */
  pick(): InputQueue | undefined {
    let best: InputQueue | undefined;
    let bestTs = Infinity;
    for (const q of this.queues) {
      if (q.head === q.messages.length) continue;
      const ts = q.timestamps[q.head]!;
      if (best === undefined || ts < bestTs) { // strict: an equal timestamp keeps the earlier input
        best = q;
        bestTs = ts;
      }
    }
    return best;
  }

  /** Takes the head record of `q` (not empty). */
  shift(q: InputQueue): KafkaMessage {
    const m = q.messages[q.head++]!;
    this.count--;
    if (q.head === q.messages.length) { // emptied: start the arrays afresh rather than keep what was processed
      q.messages.length = 0;
      q.timestamps.length = 0;
      q.head = 0;
    }
    return m;
  }

  /**
   * Drops every buffered record (a batch aborted): nothing buffered was committed, so all of it is fetched again
   * from the committed offsets, and must be buffered again then.
   */
  clear(): void {
    for (const q of this.queues) {
      q.messages.length = 0;
      q.timestamps.length = 0;
      q.head = 0;
      q.bufferedNext = -1;
      q.fetchedNext = -1;
    }
    this.count = 0;
  }
}

/** Queued outputs; a null value is a tombstone. */
export type Outputs = Array<[AvroTopicKey, OutRecord<AvroTopicKey> | Tombstone]>;

interface Tombstone {
  readonly key: string;
  readonly value: null;
}

/** No messages: what most records of a topology without outputs return. Never mutated. */
const NOTHING: TopicMessages[] = [];

/** Dead letters queued through {@link TaskContext.deadLetter}, already in Kafka form. */
export type DeadLetters = TopicMessages[];

/**
 * What a task does with records, independent of where they come from: the broker-backed application
 * (`createStreamsApp`) and the in-memory test driver (`createTopologyTestDriver`) both run tasks through it.
 */
export interface TaskRuntime<I extends AvroTopicKey> {
  readonly stats: StreamsAppStats;
  /** Changelog topic of each store, by store name. */
  readonly changelogs: ReadonlyMap<string, string>;
  /** A task with empty stores (restore them before `init`). */
  newTask(partition: number, producer: Producer | undefined, startOffsets: ReadonlyMap<string, bigint>): Task<I>;
  contextFor(task: Task<I>, outputs: Outputs, deadLetters?: DeadLetters): TaskContext;
  /**
   * Decodes and processes one record; returns its outputs, or the record as a dead letter. Throws (or rejects
   * with) only retriable errors. Returns without a promise when nothing needed one (the common case); an empty
   * result may be a shared array: never add to it.
   */
  handle(task: Task<I>, input: I, message: KafkaMessage, topic: string, onRetry?: () => void): TopicMessages[] | Promise<TopicMessages[]>;
  /** Runs the stream-time punctuations that the task's stream time has reached. */
  punctuateStreamTime(task: Task<I>, outputs: Outputs): Promise<void>;
  encodeOutputs(outputs: Outputs): Promise<TopicMessages[]>;
  /** The changelog records of the batch's store writes, to partition p of each changelog topic. */
  changelogMessages(task: Task<I>): TopicMessages[];
}

export interface TaskRuntimeOptions<I extends AvroTopicKey> {
  readonly serde: AvroSerde;
  readonly topology: Topology<I>;
  readonly retry?: RetryOptions;
  readonly log: (line: string) => void;
  readonly observer?: StreamsObserver;
  /** The topology's global tables by name, filled by the app (or driver) before any task is built. */
  readonly globals: ReadonlyMap<string, ReadonlyTable<unknown>>;
}

/** Checks a topology's declarations and builds the task runtime over them. */
export function createTaskRuntime<I extends AvroTopicKey>(opts: TaskRuntimeOptions<I>): TaskRuntime<I> {
  const { serde, topology, log } = opts;
  const appId = topology.applicationId;
  if (!/^[A-Za-z0-9._-]+$/.test(appId)) throw new RangeError(`applicationId '${appId}' may hold only letters, digits, '.', '_' and '-'`);
  if (topology.inputs.length === 0) throw new RangeError('a topology needs at least one input');
  const declared = (topology.stores ?? []) as readonly StoreSpec<unknown>[];
  if (declared.some((s) => s.name.startsWith('__'))) throw new RangeError('store names starting with __ are the runtime\'s');
  if (new Set(declared.map((s) => s.name)).size !== declared.length) throw new RangeError('store names must be unique');
  const specs = [...declared, OFFSETS_STORE as StoreSpec<unknown>];
  for (const p of topology.punctuate ?? []) if (!(p.everyMs > 0)) throw new RangeError('punctuation intervals must be > 0 ms');
  const topics = serde.topics;
  const dlqTopic = topics.name('deadLetters');
  const changelogs = new Map(specs.map((s) => [s.name, changelogTopic(topics.prefix, appId, s.name)]));
  const stats = emptyStats();

  function contextFor(task: Task<I>, outputs: Outputs, deadLetters?: DeadLetters): TaskContext {
    return {
      applicationId: appId,
      partition: task.partition,
      get streamTime() { return task.streamTime; },
      store<V>(spec: StoreSpec<V>) {
        const s = task.stores.get(spec.name);
        if (!s) throw new Error(`store '${spec.name}' is not declared on topology ${appId}`);
        return s as unknown as TaskStore<V>;
      },
      forward(topic, record) {
        outputs.push([topic, record as OutRecord<AvroTopicKey>]);
      },
      tombstone(topic, key) {
        outputs.push([topic, { key, value: null }]);
      },
      global<K extends AvroTopicKey>(spec: GlobalTableSpec<K>) {
        const t = opts.globals.get(spec.name);
        if (!t) throw new Error(`global table '${spec.name}' is not declared on topology ${appId}`);
        return t as ReadonlyTable<TopicValues[K]>;
      },
      deadLetter(record, reason) {
        if (!deadLetters) throw new Error('deadLetter() is for process and flush');
        deadLetters.push(deadLetterFor(task, record.topic, record.message, reason));
      },
    };
  }

  function deadLetterFor(task: Task<I>, topic: string, message: KafkaMessage, reason: unknown): TopicMessages {
    stats.deadLettered++;
    opts.observer?.deadLetter?.(reason instanceof BuddiesError ? reason.code : 'PROCESSING');
    log(`dead-letter ${topic}[${task.partition}]@${message.offset}: ${errorMessage(reason)}`);
    return { topic: dlqTopic, messages: [deadLetterMessage({ topic, partition: task.partition, message, groupId: appId }, reason)] };
  }

  async function encodeOutputs(outputs: Outputs): Promise<TopicMessages[]> {
    stats.forwarded += outputs.length;
    const byTopic = new Map<string, Message[]>();
    for (const [t, r] of outputs) {
      const [m] = r.value === null ? [{ key: r.key, value: null }] : await encodeRecords(serde, t, [r as OutRecord<AvroTopicKey>]).catch((err: unknown) => {
        throw err instanceof ValidationError ? new ValidationError(`output to ${t} is invalid: ${err.message}`) : err;
      });
      const name = topics.name(t);
      const list = byTopic.get(name) ?? [];
      list.push(m as Message);
      byTopic.set(name, list);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  function rollback(task: Task<I>): void {
    for (const s of task.storeList) s.rollback();
  }

  /** Runs the processor on a decoded value; returns its promise when it has one (then it has not finished). */
  function processValue(task: Task<I>, input: I, message: KafkaMessage, topic: string, value: unknown): void | Promise<void> {
    task.out.length = 0;
    task.dead.length = 0;
    for (const s of task.storeList) s.mark();
    const record = {
      input, topic, partition: task.partition, offset: message.offset, key: message.key?.toString() ?? null, value,
      headers: message.headers ?? {}, timestamp: Number(message.timestamp), message,
    } as TaskRecord<I>;
    const done = task.processor.process(record, task.ctx) as unknown;
    return done instanceof Promise || (done !== null && typeof done === 'object' && typeof (done as PromiseLike<void>).then === 'function')
      ? Promise.resolve(done as PromiseLike<void>)
      : undefined;
  }

  /** The record's outputs (encoded) and dead letters; on failure its store writes are rolled back. */
  async function results(task: Task<I>): Promise<TopicMessages[]> {
    try {
      if (task.out.length === 0 && task.dead.length === 0) return NOTHING;
      return [...(task.out.length ? await encodeOutputs(task.out) : []), ...task.dead];
    } catch (err) {
      rollback(task);
      throw err;
    }
  }

  /** One attempt at a record: decode (fetching the writer's schema if need be), process, encode the outputs. */
  async function attempt(task: Task<I>, input: I, message: KafkaMessage, topic: string): Promise<TopicMessages[]> {
    const value = await serde.decode(input, message.value as Buffer);
    try {
      await processValue(task, input, message, topic, value);
    } catch (err) {
      rollback(task); // the failed attempt's store writes go with it
      throw err;
    }
    return results(task);
  }

  /** The first attempt's outcome, or on its failure what {@link recover} makes of it. */
  async function settle(task: Task<I>, input: I, message: KafkaMessage, topic: string, onRetry: (() => void) | undefined, first: Promise<TopicMessages[]>): Promise<TopicMessages[]> {
    try {
      return await first;
    } catch (err) {
      return recover(task, input, message, topic, onRetry, err);
    }
  }

  /**
   * A record's first attempt failed with `err`: a retriable error is retried (backing off, the whole attempt
   * again) until it passes or the retries run out; then, or at once for any other error, the record is a dead
   * letter. Throws only retriable errors (retries exhausted: the batch aborts and is redone).
   */
  async function recover(task: Task<I>, input: I, message: KafkaMessage, topic: string, onRetry: (() => void) | undefined, err: unknown): Promise<TopicMessages[]> {
    try {
      const retries = opts.retry?.retries ?? 5;
      if (!isRetriable(err) || retries < 1) throw err;
      const wait = backoffMs(1, opts.retry);
      stats.retries++;
      log(`retry 1 in ${wait} ms: ${errorMessage(err)}`);
      onRetry?.();
      await delay(wait);
      return await withRetry(() => attempt(task, input, message, topic), {
        ...opts.retry, retries: retries - 1,
        onRetry: (e, n, w) => { stats.retries++; log(`retry ${n + 1} in ${w} ms: ${errorMessage(e)}`); onRetry?.(); },
      });
    } catch (e) {
      if (isRetriable(e)) throw e; // retries exhausted on a passing failure: the batch aborts and is redone
      return [deadLetterFor(task, topic, message, e)];
    }
  }

  return {
    stats,
    changelogs,
    newTask(partition, producer, startOffsets) {
      const stores = new Map(specs.map((spec) => [spec.name, createTaskStore(spec)]));
      const nextStreamPunctuation = new Map<number, number>();
      for (const [i, p] of (topology.punctuate ?? []).entries()) if (p.type === 'stream-time') nextStreamPunctuation.set(i, 0);
      const out: Outputs = [];
      const dead: DeadLetters = [];
      const task: Task<I> = {
        partition, producer, stores, storeList: [...stores.values()], processor: topology.processor(partition), startOffsets, out, dead,
        ctx: undefined as unknown as TaskContext,
        streamTime: 0, queue: Promise.resolve(), timers: [], nextStreamPunctuation, closed: false,
        group: new PartitionGroup(topology.inputs.map((i) => topics.name(i))), blockedSince: 0, idleTimer: undefined,
      };
      (task as { ctx: TaskContext }).ctx = contextFor(task, out, dead);
      return task;
    },
    contextFor,
    encodeOutputs,
    handle(task, input, message, topic, onRetry) {
      const bytes = message.value;
      if (bytes === null) return NOTHING; // a tombstone on an input: nothing to process
      // The common case, without a promise or a closure: the writer's schema is cached, the processor and the
      // outputs are synchronous. Anything else (a schema to fetch, an async processor, outputs to encode, a failure)
      // goes on through promises, and a failure through the same retries and dead letters as every later attempt.
      let value: unknown;
      try {
        value = serde.decodeCached?.(input, bytes);
      } catch (err) {
        return recover(task, input, message, topic, onRetry, err);
      }
      if (value === undefined) return settle(task, input, message, topic, onRetry, attempt(task, input, message, topic));
      let done: void | Promise<void>;
      try {
        done = processValue(task, input, message, topic, value);
      } catch (err) {
        rollback(task); // the failed record's store writes go with it
        return recover(task, input, message, topic, onRetry, err);
      }
      if (done !== undefined) {
        return settle(task, input, message, topic, onRetry, done.then(() => results(task), (err: unknown) => { rollback(task); throw err; }));
      }
      if (task.out.length === 0 && task.dead.length === 0) return NOTHING;
      return settle(task, input, message, topic, onRetry, results(task));
    },
    async punctuateStreamTime(task, outputs) {
      for (const [i, next] of task.nextStreamPunctuation) {
        const every = topology.punctuate![i]!.everyMs;
        if (next === 0) task.nextStreamPunctuation.set(i, task.streamTime + every);
        else if (task.streamTime >= next) {
          await task.processor.punctuate?.('stream-time', task.streamTime, contextFor(task, outputs));
          task.nextStreamPunctuation.set(i, next + Math.ceil((task.streamTime - next + 1) / every) * every);
        }
      }
    },
    changelogMessages(task) {
      const out: TopicMessages[] = [];
      for (const [name, store] of task.stores) {
        const pending = store.pending();
        if (pending.length) out.push({ topic: changelogs.get(name)!, messages: pending.map((r) => ({ key: r.key, value: r.value, partition: task.partition })) });
      }
      return out;
    },
  };
}

