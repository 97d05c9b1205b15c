import { describe, expect, it } from 'vitest';
import { createIdempotentProducer, readTopicSnapshot } from '../../streams/index.js';
import { createTestBed } from '../helpers/services.js';

// Issue 8: a task restoring a changelog whose tail is an aborted transaction (its old owner fenced mid-commit)
// must not wait for ever: kafkajs hands batches of only aborted records and markers to no eachBatch
describe('reading a topic to its end', () => {
  it('completes when the partition ends in an aborted transaction, and returns only committed records', async () => {
    const bed = await createTestBed(['deadLetters']);
    const topic = bed.topics.name('deadLetters');
    const producer = createIdempotentProducer(bed.kafka, bed.unique('tx'));
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'k', value: 'kept', partition: 0 }] });
    await committed.commit();
    // partition 1 holds nothing but an aborted transaction: every batch of it is empty once filtered
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'dropped', partition: 0 }, { key: 'j', value: 'dropped too', partition: 1 }] });
    await aborted.abort();
    await producer.disconnect();
    const read = await readTopicSnapshot(bed.kafka, topic, { partitions: [0, 1], timeoutMs: 30_000 });
    expect(read.map((m) => m.value?.toString())).toEqual(['kept']);
  });

  // The scaling test once read outputs of a fenced task's aborted transaction as committed: several tasks' producers
  // write to each output partition, and their transactions overlap. kafkajs's own filter takes the broker's list of
  // aborted transactions (in the order they ended) as sorted by first offset, and lets this layout through.
  it('returns none of the records of overlapping aborted transactions of two producers', async () => {
    const bed = await createTestBed(['deadLetters']);
    const topic = bed.topics.name('deadLetters');
    const p1 = createIdempotentProducer(bed.kafka, bed.unique('tx1'));
    const p2 = createIdempotentProducer(bed.kafka, bed.unique('tx2'));
    await p1.connect();
    await p2.connect();
    const send = (t: Awaited<ReturnType<typeof p1.transaction>>, value: string) => t.send({ topic, acks: -1, messages: [{ key: 'k', value, partition: 0 }] });
    try {
      const first = await p1.transaction();
      await send(first, 'aborted 1'); // opens first, ends last
      const second = await p2.transaction();
      await send(second, 'aborted 2');
      await second.abort();
      await send(first, 'aborted 3');
      await first.abort();
      const third = await p2.transaction();
      await send(third, 'committed');
      await third.commit();
    } finally {
      await p1.disconnect();
      await p2.disconnect();
    }
    const read = await readTopicSnapshot(bed.kafka, topic, { partitions: [0], timeoutMs: 30_000 });
    expect(read.map((m) => m.value?.toString())).toEqual(['committed']);
    const all = await readTopicSnapshot(bed.kafka, topic, { partitions: [0], timeoutMs: 30_000, readUncommitted: true });
    expect(all.map((m) => m.value?.toString())).toEqual(['aborted 1', 'aborted 2', 'aborted 3', 'committed']);
  });
});
