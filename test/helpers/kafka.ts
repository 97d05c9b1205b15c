import type { Kafka, KafkaMessage } from 'kafkajs';
import { randomId } from './services.js';

export type ReadMessage = KafkaMessage & {
  readonly partition: number;
};

/**
 * Reads a topic from the beginning up to the end offsets it has now (control records included), with
 * read_committed unless told otherwise. Fails after `timeoutMs` instead of hanging.
 */
export async function readTopicToEnd(kafka: Kafka, topic: string, opts: { readUncommitted?: boolean; timeoutMs?: number } = {}): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  if (want.size === 0) return [];
  const reached = new Map<number, bigint>();
  const out: ReadMessage[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${randomId()}`, readUncommitted: opts.readUncommitted ?? false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`readTopicToEnd(${topic}): end offsets not reached in time`)), opts.timeoutMs ?? 60_000);
      const check = () => {
        for (const [p, last] of want) if ((reached.get(p) ?? -1n) < last) return;
        clearTimeout(timer);
        resolve();
      };
      consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) out.push({ ...m, partition: batch.partition });
          const last = BigInt(batch.lastOffset());
          if (last > (reached.get(batch.partition) ?? -1n)) reached.set(batch.partition, last);
          check();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Polls `condition` until true; throws with `what` after `timeoutMs`. For waiting on effects, never a bare sleep. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when group `groupId` has committed the end offset of every partition of `topic`. */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    return ends.every((e) => BigInt(e.high) === BigInt(e.low) || (byPartition.get(e.partition) ?? -1n) >= BigInt(e.high));
  } finally {
    await admin.disconnect();
  }
}
