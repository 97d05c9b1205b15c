import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { GlobalTableSpec, ReadonlyTable } from './global-table.js';
import type { OutRecord } from './producer.js';
import type { KeyValueStore, StoreSpec } from './store.js';
import type { AvroTopicKey, TopicValues } from './topics.js';

/** One decoded input record of a task, tagged with the input it came from. */
export type TaskRecord<I extends AvroTopicKey> = {
  [K in I]: {
    readonly input: K;
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
    readonly key: string | null;
    readonly value: TopicValues[K];
    readonly headers: IHeaders;
    readonly timestamp: number;
    /** The record as it came from Kafka (its original bytes, for a dead letter). */
    readonly message: KafkaMessage;
  };
}[I];

export type PunctuationType = 'stream-time' | 'wall-clock';

/** What a processor may use while it handles a record (or a punctuation) of its task. */
export interface TaskContext {
  readonly applicationId: string;
  /** The task: partition p of every input. */
  readonly partition: number;
  /** The largest record timestamp the task has seen (its stream time); 0 before the first record. */
  readonly streamTime: number;
  /** A store declared on the topology; reads see this batch's writes, which commit with its outputs. */
  store<V>(spec: StoreSpec<V>): KeyValueStore<V>;
  /** Queues an output; it is written in the same transaction as the input offsets and the store writes. */
  forward<K extends AvroTopicKey>(topic: K, record: OutRecord<K>): void;
  /** Queues a tombstone (a null value) for `key` on a compacted topic, in the same transaction as `forward`. */
  tombstone(topic: AvroTopicKey, key: string): void;
  /** A global table declared on the topology: the whole topic, on every instance, caught up before processing. */
  global<K extends AvroTopicKey>(spec: GlobalTableSpec<K>): ReadonlyTable<TopicValues[K]>;
  /**
   * Sends a record of this task to the dead-letter topic with `reason`, in the batch's transaction: for a
   * record found bad after `process` returned (a row that the warehouse rejects in `flush`, say).
   */
  deadLetter(record: TaskRecord<AvroTopicKey>, reason: unknown): void;
}

/**
 * A processor in the Kafka Streams shape, one instance per task: `init` once after the task's stores are
 * restored, `process` per record (in offset order per input; across the inputs of a task in timestamp order,
 * the lowest first, equal timestamps in the order of `inputs`: see `maxTaskIdleMs` of `createStreamsApp`),
 * `punctuate` on the schedule the topology declares, `close` when the task is revoked or the app stops.
 * Throw a retriable error to have a record retried with backoff (the batch aborts when retries run out); any
 * other error sends the record to the dead-letter topic with the reason.
 */
export interface TaskProcessor<I extends AvroTopicKey> {
  init?(ctx: TaskContext): void | Promise<void>;
  process(record: TaskRecord<I>, ctx: TaskContext): void | Promise<void>;
  /** Called with the punctuation time (stream time or epoch ms) at each tick of the topology's `punctuate`. */
  punctuate?(type: PunctuationType, time: number, ctx: TaskContext): void | Promise<void>;
  /**
   * Called at the end of each batch before it commits: write buffered side effects here (a ClickHouse insert).
   * A retriable error is retried with backoff for as long as it lasts (heartbeats continue, no further batch of
   * the task is fetched, so memory stays bounded); any other throw aborts the batch, which is then redone.
   */
  flush?(ctx: TaskContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export type Guarantee = 'exactly-once' | 'at-least-once';

/** An application: one consumer group over co-partitioned inputs, its stores, and the processor per task. */
export interface Topology<I extends AvroTopicKey> {
  /** Names the consumer group, the transactional ids (`<id>-<partition>`) and the changelog topics. */
  readonly applicationId: string;
  /** Inputs keyed alike with the same partition count: partition p of each belongs to task p. */
  readonly inputs: readonly I[];
  readonly stores?: readonly StoreSpec<never>[] | readonly StoreSpec[];
  /** Global tables (every instance reads the whole topic), read through `ctx.global(spec)`. */
  readonly globals?: ReadonlyArray<GlobalTableSpec<AvroTopicKey>>;
  /** exactly-once (default): outputs, store changelogs, dead letters and input offsets commit in one transaction. */
  readonly guarantee?: Guarantee;
  /** Where a new group starts reading its inputs (default earliest); afterwards it resumes at its committed offsets. */
  readonly startAt?: 'earliest' | 'latest';
  /** Punctuation schedules: every `everyMs` of stream time or of wall-clock time, `punctuate` runs. */
  readonly punctuate?: ReadonlyArray<{ readonly type: PunctuationType; readonly everyMs: number }>;
  /** A fresh processor for a task (called on each assignment of a partition). */
  processor(partition: number): TaskProcessor<I>;
}

/** The changelog topic of a store: `<prefix><applicationId>-<store>-changelog`, as Kafka Streams names them. */
export function changelogTopic(prefix: string, applicationId: string, store: string): string {
  return `${prefix}${applicationId}-${store}-changelog`;
}
