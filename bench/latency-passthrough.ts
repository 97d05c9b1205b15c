/**
 * The reference of `buddies bench latency`: a raw kafkajs exactly-once pass-through, run as a child process
 * (forked by bench/latency.ts) so that it has an event loop of its own, as the recommender does.
 *
 * It is shaped like the stream runtime at the Kafka level and does nothing else: one consumer group
 * (read_committed, `partitionsConsumedConcurrently` as the runtime's default), one transactional producer per
 * input partition (`<group>-<partition>`), and per fetched batch one transaction that writes one small record per
 * input record (the input's `bench.id` header as value, same key, same partition) and the batch's input offsets.
 * No Avro decoding, no state, no changelog: the floor that Kafka transactions impose on this machine.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Producer } from 'kafkajs';
import { createIdempotentProducer, createKafka, errorMessage, withRetry } from '../streams/index.js';

export interface PassThroughArgs {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly input: string;
  readonly output: string;
  readonly groupId: string;
  /** Partitions processed at once (the stream runtime's default is 3). */
  readonly concurrency: number;
}

/** Counters since the start, read by the parent before and after a measurement. */
export interface PassThroughStats {
  readonly records: number;
  readonly batches: number;
  /** Wall time of the committed batches (transaction begin to commit). */
  readonly batchSeconds: number;
  /** Of which: the records' send (AddPartitionsToTxn on the first send of a transaction, then Produce). */
  readonly sendSeconds: number;
  /** The offsets (AddOffsetsToTxn, TxnOffsetCommit). */
  readonly offsetsSeconds: number;
  /** The commit (EndTxn). */
  readonly commitSeconds: number;
  /** Batches whose send took 50 ms or more (kafkajs backing off after CONCURRENT_TRANSACTIONS, typically). */
  readonly slowSends: number;
}

/** Messages from the child to its parent over the IPC channel. */
export type PassThroughMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'stats'; readonly stats: PassThroughStats }
  | { readonly type: 'failed'; readonly error: string };

/** The header whose value the pass-through copies into its output record. */
export const BENCH_ID_HEADER = 'bench.id';

/** The broker's CONCURRENT_TRANSACTIONS answer (kafkajs may wrap it), retried as the stream runtime does. */
function isConcurrentTransactions(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined; e; e = (e.cause ?? e.originalError) as typeof e) {
    if (e.type === 'CONCURRENT_TRANSACTIONS') return true;
  }
  return false;
}

async function runPassThrough(args: PassThroughArgs): Promise<void> {
  const send = (m: PassThroughMessage) => process.send?.(m);
  const log = (line: string) => process.stderr.write(`[passthrough] ${line}\n`);
  const kafka = createKafka({ brokers: args.brokers, clientId: args.clientId, log });
  const producers = new Map<number, Promise<Producer>>();
  const producerFor = (partition: number): Promise<Producer> => {
    let p = producers.get(partition);
    if (!p) {
      p = (async () => {
        const producer = createIdempotentProducer(kafka, `${args.groupId}-${partition}`);
        await producer.connect();
        return producer;
      })();
      producers.set(partition, p);
    }
    return p;
  };
  const stats = { records: 0, batches: 0, batchSeconds: 0, sendSeconds: 0, offsetsSeconds: 0, commitSeconds: 0, slowSends: 0 };
  const consumer = kafka.consumer({ groupId: args.groupId, readUncommitted: false, allowAutoTopicCreation: false });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const mine = Object.values(payload.memberAssignment).flat();
    Promise.all(mine.map(producerFor)).then(() => send({ type: 'ready' }), (err: unknown) => send({ type: 'failed', error: errorMessage(err) }));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    send({ type: 'failed', error: errorMessage(payload.error) });
    process.exit(1);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [args.input], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: args.concurrency,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (batch.messages.length === 0) return;
      const t0 = performance.now();
      const producer = await producerFor(batch.partition);
      const txn = await producer.transaction();
      const last = batch.lastOffset();
      let t1 = t0;
      let t2 = t0;
      try {
        await txn.send({
          topic: args.output, acks: -1,
          messages: batch.messages.map((m) => ({ key: m.key, value: (m.headers?.[BENCH_ID_HEADER] as Buffer | undefined) ?? Buffer.alloc(0), partition: batch.partition })),
        });
        t1 = performance.now();
        await withRetry(
          () => txn.sendOffsets({ consumerGroupId: args.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] }),
          { retries: 10, initialMs: 100, maxMs: 2000, retriable: isConcurrentTransactions },
        );
        t2 = performance.now();
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => {});
        throw err;
      }
      const t3 = performance.now();
      resolveOffset(last);
      stats.records += batch.messages.length;
      stats.batches++;
      stats.batchSeconds += (t3 - t0) / 1000;
      stats.sendSeconds += (t1 - t0) / 1000;
      stats.offsetsSeconds += (t2 - t1) / 1000;
      stats.commitSeconds += (t3 - t2) / 1000;
      if (t1 - t0 >= 50) stats.slowSends++;
    },
  });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stats') send({ type: 'stats', stats: { ...stats } });
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await consumer.disconnect().catch(() => {});
      for (const p of producers.values()) await (await p.catch(() => undefined))?.disconnect().catch(() => {});
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop); // the parent went away
}

// Runs only when forked as a program (bench/latency.ts imports this module for its types and constants).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runPassThrough(JSON.parse(process.argv[2] ?? '{}') as PassThroughArgs).catch((err: unknown) => {
    process.send?.({ type: 'failed', error: errorMessage(err) } satisfies PassThroughMessage);
    process.stderr.write(`[passthrough] ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
