import type { Kafka, KafkaMessage } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { installReadCommittedFilter } from './read-committed.js';
import { withRetry } from './retry.js';
import type { TaskStore } from './store.js';

// kafkajs's own read_committed filter lets through records of overlapping aborted transactions
installReadCommittedFilter();

export type SnapshotMessage = KafkaMessage & { readonly partition: number };

/**
 * Reads a topic from the beginning up to the end offsets it has when called (read_committed unless told
 * otherwise), in partition and offset order: how a processor restores a table (its playlists, say) at
 * start, or a task its stores (`partitions`: only those). Rejects after `timeoutMs` rather than hang.
 */
export async function readTopicSnapshot(kafka: Kafka, topic: string, opts: { readUncommitted?: boolean; timeoutMs?: number; partitions?: readonly number[] } = {}): Promise<SnapshotMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  // a topic created a moment ago may still answer NOT_LEADER while its leader settles: retriable, so retry
  const ends = await withRetry(() => admin.fetchTopicOffsets(topic), { retries: 8, initialMs: 100, maxMs: 2000 }).finally(() => admin.disconnect());
  const only = opts.partitions ? new Set(opts.partitions) : undefined;
  const want = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low) && (!only || only.has(p.partition))).map((p) => [p.partition, BigInt(p.high) - 1n]));
  if (want.size === 0) return [];
  const reached = new Map<number, bigint>();
  const out: SnapshotMessage[] = [];
  // a throwaway group: nothing is committed that matters, and no other reader is disturbed
  const consumer = kafka.consumer({ groupId: `snapshot-${randomBytes(6).toString('hex')}`, readUncommitted: opts.readUncommitted ?? false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic}: end offsets not reached in ${opts.timeoutMs ?? 120_000} ms`)), opts.timeoutMs ?? 120_000);
      // Progress comes from END_BATCH_PROCESS: kafkajs emits it for every fetched batch, also for one that held only
      // control records or aborted records (which never reaches eachBatch), so a partition whose tail is an aborted
      // transaction still completes. lastOffset counts those records too.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = BigInt(payload.lastOffset);
        if (last > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, last);
        for (const [p, end] of want) if ((reached.get(p) ?? -1n) < end) return;
        clearTimeout(timer);
        resolve();
      });
      consumer.run({
        eachBatch: async ({ batch }) => {
          if (only && !only.has(batch.partition)) return;
          for (const m of batch.messages) out.push({ ...m, partition: batch.partition });
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
}

/**
 * Restores a task's store from partition `partition` of its changelog (read_committed, to the end offsets it has
 * now): what a task does on assignment. Returns the changelog records read.
 */
export async function restoreStore(kafka: Kafka, changelog: string, partition: number, store: TaskStore<unknown>): Promise<number> {
  const records = await readTopicSnapshot(kafka, changelog, { partitions: [partition] });
  for (const m of records) if (m.key) store.restore({ key: m.key.toString(), value: m.value });
  return records.length;
}
