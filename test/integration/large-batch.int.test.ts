import { describe, expect, it } from 'vitest';
import { changelogTopic, createIdempotentProducer, createStreamsApp, readTopicSnapshot, storeSpec, type Topology } from '../../streams/index.js';
import { groupCaughtUp, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';

// Issue 9 (found by the latency benchmark): a backlog batch's changelog (a few KiB of state per user, hundreds of
// users) went to the broker as one record batch over its 1 MiB limit (MESSAGE_TOO_LARGE) and the application died.
describe('a batch whose writes pass the broker request limit', () => {
  it('is written in several requests of one transaction, and every store write commits', async () => {
    const bed = await createTestBed(['listens', 'deadLetters']);
    const users = 400;
    const big = storeSpec<string>('big');
    const applicationId = bed.unique('big');
    const topology: Topology<'listens'> = {
      applicationId, inputs: ['listens'], stores: [big],
      processor: () => ({ process: (r, ctx) => ctx.store(big).put(r.value.userId, `${r.value.userId}:${'x'.repeat(8000)}`) }),
    };
    // all on partition 0, produced before the app starts: the first fetch brings them in one batch
    const producer = createIdempotentProducer(bed.kafka);
    await producer.connect();
    const messages = await Promise.all(Array.from({ length: users }, async (_, i) => ({
      key: `u${i}`, partition: 0, value: await bed.serde.encode('listens', { ...SAMPLES.listens.value, eventId: `e${i}`, userId: `u${i}` }),
    })));
    await producer.send({ topic: bed.topics.name('listens'), acks: -1, messages });
    await producer.disconnect();
    let fatal: unknown;
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology, onFatal: (err) => { fatal = err; } });
    await app.start();
    try {
      await waitFor(async () => fatal !== undefined || (await groupCaughtUp(bed.kafka, applicationId, bed.topics.name('listens'))), 'the app to commit every listen', 60_000, 250);
    } finally {
      await app.stop();
    }
    expect(fatal).toBeUndefined();
    const changelog = await readTopicSnapshot(bed.kafka, changelogTopic(bed.topics.prefix, applicationId, 'big'), { partitions: [0] });
    expect(new Set(changelog.map((m) => m.key?.toString())).size).toBe(users);
    expect(changelog.reduce((n, m) => n + (m.value?.length ?? 0), 0)).toBeGreaterThan(3 * 1024 * 1024);
  });
});
