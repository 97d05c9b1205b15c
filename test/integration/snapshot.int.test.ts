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
});
