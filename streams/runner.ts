import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import { deadLetterMessage } from './dead-letter.js';
import { ValidationError, errorMessage, isRetriable } from './errors.js';
import { createIdempotentProducer, encodeRecords, type OutRecord } from './producer.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { AvroSerde } from './serde.js';
import type { AvroTopicKey, TopicValues } from './topics.js';

/** A decoded input record. */
export interface InRecord<K extends AvroTopicKey> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: TopicValues[K];
  readonly headers: IHeaders;
  readonly timestamp: number;
}

/** What a processor may do while handling one record. */
export interface ProcessorContext {
  /** Queues an output record; it is written in the same transaction as the input's offset. */
  forward<K extends AvroTopicKey>(topic: K, record: OutRecord<K>): void;
}

/**
 * A processor in the Kafka Streams shape: `init` once before the first record, `process` for each
 * record in offset order per partition, `close` once on shutdown. Throw a retriable error to have the
 * record retried with backoff; any other error sends the record to the dead-letter topic.
 */
export interface Processor<K extends AvroTopicKey> {
  init?(): Promise<void> | void;
  process(record: InRecord<K>, ctx: ProcessorContext): Promise<void> | void;
  /**
   * Called at the end of each batch, before its offsets commit: write buffered side effects here (e.g. a
   * ClickHouse insert). A throw aborts the batch, which is then redone (at-least-once for side effects).
   */
  flush?(): Promise<void> | void;
  /** Null-valued records (deletes on compacted topics); skipped when absent. */
  tombstone?(key: string | null, ctx: ProcessorContext): Promise<void> | void;
  close?(): Promise<void> | void;
}

export type DeliveryGuarantee = 'exactly-once' | 'at-least-once';

export interface RunnerOptions<K extends AvroTopicKey> {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly input: K;
  readonly groupId: string;
  readonly processor: Processor<K>;
  /** exactly-once (default): outputs, dead letters and input offsets commit in one Kafka transaction. */
  readonly guarantee?: DeliveryGuarantee;
  /** Stable per processor instance; default `${groupId}.tx`. A restart with the same id fences the old one. */
  readonly transactionalId?: string;
  /** Outputs are sent every this many records inside the batch's transaction (default 200). */
  readonly flushEvery?: number;
  readonly retry?: RetryOptions;
  readonly sessionTimeoutMs?: number;
  /** Partitions processed at once (at-least-once only; exactly-once keeps one transaction at a time). Default 1. */
  readonly partitionsConcurrently?: number;
  readonly fromBeginning?: boolean;
  readonly log?: (line: string) => void;
}

export interface RunnerStats {
  processed: number;
  deadLettered: number;
  batches: number;
  retries: number;
}

/** Consumes one topic, runs a processor, produces its outputs; owns its clients' lifecycles. */
export interface StreamRunner {
  readonly stats: Readonly<RunnerStats>;
  /** Connects, joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /** Finishes the batch in progress, commits, leaves the group and closes the processor. Idempotent. */
  stop(): Promise<void>;
}

interface Sink {
  send(topicMessages: TopicMessages[]): Promise<void>;
}

/** The broker's CONCURRENT_TRANSACTIONS answer (kafkajs may wrap it in a retries-exceeded error). */
function isConcurrentTransactions(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined; e; e = (e.cause ?? e.originalError) as typeof e) {
    if (e.type === 'CONCURRENT_TRANSACTIONS') return true;
  }
  return false;
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Runs `processor` over `input` with the chosen delivery guarantee. */
export function createStreamRunner<K extends AvroTopicKey>(opts: RunnerOptions<K>): StreamRunner {
  const guarantee = opts.guarantee ?? 'exactly-once';
  const flushEvery = opts.flushEvery ?? 200;
  if (!Number.isInteger(flushEvery) || flushEvery < 1) throw new Error('createStreamRunner: flushEvery must be a positive integer');
  const log = opts.log ?? (() => {});
  const { serde, groupId } = opts;
  const topics = serde.topics;
  const inputTopic = topics.name(opts.input);
  const dlqTopic = topics.name('deadLetters');
  const stats: RunnerStats = { processed: 0, deadLettered: 0, batches: 0, retries: 0 };

  const producer: Producer = createIdempotentProducer(
    opts.kafka,
    guarantee === 'exactly-once' ? opts.transactionalId ?? `${groupId}.tx` : undefined,
  );
  const consumer: Consumer = opts.kafka.consumer({
    groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  let started = false;
  let stopping: Promise<void> | undefined;

  /** Processes one message; returns what to write (outputs, or the input as a dead letter). */
  async function handle(message: KafkaMessage, partition: number): Promise<TopicMessages[]> {
    const toDeadLetter = (err: unknown): TopicMessages[] => {
      stats.deadLettered++;
      log(`dead-letter ${inputTopic}[${partition}]@${message.offset}: ${errorMessage(err)}`);
      return [{ topic: dlqTopic, messages: [deadLetterMessage({ topic: inputTopic, partition, message, groupId }, err)] }];
    };
    if (message.value === null) {
      if (!opts.processor.tombstone) return [];
      const outputs: Array<[AvroTopicKey, OutRecord<AvroTopicKey>]> = [];
      await opts.processor.tombstone(message.key?.toString() ?? null, { forward: (t, r) => { outputs.push([t, r as OutRecord<AvroTopicKey>]); } });
      return encodeOutputs(outputs);
    }
    try {
      return await withRetry(async () => {
        const value = await serde.decode(opts.input, message.value as Buffer);
        const outputs: Array<[AvroTopicKey, OutRecord<AvroTopicKey>]> = [];
        const record: InRecord<K> = {
          topic: inputTopic, partition, offset: message.offset, key: message.key?.toString() ?? null, value,
          headers: message.headers ?? {}, timestamp: Number(message.timestamp),
        };
        await opts.processor.process(record, { forward: (t, r) => { outputs.push([t, r as OutRecord<AvroTopicKey>]); } });
        return encodeOutputs(outputs);
      }, { ...opts.retry, onRetry: (err, attempt, wait) => { stats.retries++; log(`retry ${attempt} in ${wait} ms: ${errorMessage(err)}`); } });
    } catch (err) {
      if (isRetriable(err)) throw err; // retries exhausted on a passing failure: abort, the batch is redone
      return toDeadLetter(err);
    }
  }

  async function encodeOutputs(outputs: Array<[AvroTopicKey, OutRecord<AvroTopicKey>]>): Promise<TopicMessages[]> {
    const byTopic = new Map<string, Message[]>();
    for (const [t, r] of outputs) {
      const [m] = await encodeRecords(serde, t, [r]).catch((err: unknown) => {
        throw err instanceof ValidationError ? new ValidationError(`output to ${t} is invalid: ${err.message}`) : err;
      });
      const name = topics.name(t);
      const list = byTopic.get(name) ?? [];
      list.push(m as Message);
      byTopic.set(name, list);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  async function runBatch(payload: EachBatchPayload, sink: Sink): Promise<string | undefined> {
    const { batch, isRunning, isStale, heartbeat } = payload;
    let last: string | undefined;
    let pending: TopicMessages[] = [];
    let pendingCount = 0;
    const flush = async () => {
      if (pending.length > 0) await sink.send(pending);
      pending = [];
      pendingCount = 0;
    };
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const out = await handle(message, batch.partition);
      pending.push(...out);
      pendingCount++;
      stats.processed++;
      last = message.offset;
      if (pendingCount >= flushEvery) {
        await flush();
        await heartbeat();
      }
    }
    await flush();
    if (last !== undefined) await withRetry(async () => { await opts.processor.flush?.(); }, opts.retry);
    return last;
  }

  async function eachBatchExactlyOnce(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset } = payload;
    const txn: Transaction = await producer.transaction();
    try {
      const last = await runBatch(payload, { send: async (topicMessages) => { await txn.sendBatch({ topicMessages, acks: -1 }); } });
      if (last !== undefined) {
        // AddOffsetsToTxn answers CONCURRENT_TRANSACTIONS while the coordinator still finishes the previous
        // commit (slow under load); kafkajs does not retry it there, and nothing changed, so retry it here
        await withRetry(
          () => txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset(last) }] }] }),
          { retries: 10, initialMs: 100, maxMs: 2000, retriable: isConcurrentTransactions },
        );
      }
      await txn.commit();
      if (last !== undefined) resolveOffset(last);
      stats.batches++;
    } catch (err) {
      await txn.abort().catch((abortErr: unknown) => log(`abort failed: ${errorMessage(abortErr)}`));
      throw err;
    }
  }

  async function eachBatchAtLeastOnce(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset } = payload;
    const last = await runBatch(payload, { send: async (topicMessages) => { await producer.sendBatch({ topicMessages, acks: -1 }); } });
    if (last !== undefined) {
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: nextOffset(last) }]);
      resolveOffset(last);
    }
    stats.batches++;
  }

  return {
    stats,
    async start() {
      if (started) return;
      started = true;
      await opts.processor.init?.();
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [inputTopic], fromBeginning: opts.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: guarantee === 'at-least-once' ? opts.partitionsConcurrently ?? 1 : 1,
        eachBatch: guarantee === 'exactly-once' ? eachBatchExactlyOnce : eachBatchAtLeastOnce,
      });
      log(`runner ${groupId}: consuming ${inputTopic} (${guarantee})`);
    },
    stop() {
      stopping ??= (async () => {
        if (started) {
          await consumer.disconnect(); // waits for the batch in progress, then leaves the group
          await producer.disconnect();
        }
        await opts.processor.close?.();
        log(`runner ${groupId}: stopped after ${stats.processed} records (${stats.deadLettered} dead-lettered)`);
      })();
      return stopping;
    },
  };
}
