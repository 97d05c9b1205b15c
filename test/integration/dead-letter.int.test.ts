import { describe, expect, it } from 'vitest';
import {
  DLQ_HEADERS, createStreamsApp, createTypedProducer, headerText, type Guarantee, type ListenEvent,
} from '../../streams/index.js';
import { readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';

const listen = (id: string): ListenEvent => ({ ...SAMPLES.listens.value, eventId: id, userId: 'u-dlq' });

describe.each<Guarantee>(['exactly-once', 'at-least-once'])('dead-letter topic (%s app)', (guarantee) => {
  it('sends undecodable records there with the reason and goes on with the next ones', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'deadLetters']);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('listens', [{ key: 'u-dlq', value: listen('before') }]);
    const raw = bed.kafka.producer();
    await raw.connect();
    const garbage = Buffer.from('this is not avro');
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x01]), Buffer.from('xx')]);
    await raw.send({ topic: bed.topics.name('listens'), messages: [
      { key: 'u-dlq', value: garbage, headers: { origin: 'test' } },
      { key: 'u-dlq', value: unknownSchema },
    ] });
    await producer.send('listens', [{ key: 'u-dlq', value: listen('after') }]);
    await raw.disconnect();
    await producer.disconnect();

    const runner = createStreamsApp({
      kafka: bed.kafka, serde: bed.serde,
      topology: {
        applicationId: bed.unique('dlq'), inputs: ['listens'], guarantee,
        processor: () => ({
          process(rec, ctx) {
            ctx.forward('feedback', { key: rec.value.userId, value: { ...SAMPLES.feedback.value, eventId: rec.value.eventId, kind: 'SKIP' } });
          },
        }),
      },
    });
    await runner.start();
    try {
      await waitFor(() => runner.stats.processed === 4, 'the runner to process all four records');
    } finally {
      await runner.stop();
    }

    const outputs = await readTopicToEnd(bed.kafka, bed.topics.name('feedback'));
    const ids = await Promise.all(outputs.map(async (m) => (await bed.serde.decode('feedback', m.value as Buffer)).eventId));
    expect(ids).toEqual(['before', 'after']);

    const dead = await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'));
    expect(dead).toHaveLength(2);
    const [first, second] = dead;
    expect(first?.value).toEqual(garbage); // original bytes kept
    expect(headerText(first?.headers, 'origin')).toBe('test'); // original headers kept
    expect(headerText(first?.headers, DLQ_HEADERS.reason)).toMatch(/not in Confluent wire format/);
    expect(headerText(first?.headers, DLQ_HEADERS.code)).toBe('DECODE');
    expect(headerText(first?.headers, DLQ_HEADERS.topic)).toBe(bed.topics.name('listens'));
    expect(headerText(first?.headers, DLQ_HEADERS.offset)).toBe('1');
    const inputs = await readTopicToEnd(bed.kafka, bed.topics.name('listens'));
    expect(headerText(first?.headers, DLQ_HEADERS.partition)).toBe(String(inputs[1]?.partition));
    expect(second?.value).toEqual(unknownSchema);
    expect(headerText(second?.headers, DLQ_HEADERS.reason)).toMatch(/schema 2147483393/);
    expect(headerText(second?.headers, DLQ_HEADERS.offset)).toBe('2');
    expect(runner.stats.deadLettered).toBe(2);
  });
});

// Issue 8: a record that claims a 2^31-element array is dead-lettered before anything is allocated
describe('a forged array length', () => {
  it('is dead-lettered with the reason, and the records after it are processed', async () => {
    const bed = await createTestBed(['playlists', 'feedback', 'deadLetters']);
    const good = (id: string) => ({ ...SAMPLES.playlists.value, playlistId: id, tracks: ['t'] });
    const bytes = await bed.serde.encode('playlists', good('forged'));
    const at = bytes.indexOf(Buffer.from([2, 2, 0x74])); // tracks: one block of 1 item, the 1-byte string "t"
    const forged = Buffer.concat([bytes.subarray(0, at), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10]), bytes.subarray(at + 1)]);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const raw = bed.kafka.producer();
    await raw.connect();
    await raw.send({ topic: bed.topics.name('playlists'), messages: [{ key: 'forged', value: forged }] });
    await producer.send('playlists', [{ key: 'after', value: good('after') }]);
    await raw.disconnect();
    await producer.disconnect();
    const seen: string[] = [];
    const app = createStreamsApp({
      kafka: bed.kafka, serde: bed.serde,
      topology: { applicationId: bed.unique('forged'), inputs: ['playlists'], processor: () => ({ process(r) { seen.push(r.value.playlistId); } }) },
    });
    await app.start();
    try {
      await waitFor(() => app.stats.processed === 2, 'both records');
    } finally {
      await app.stop();
    }
    expect(seen).toEqual(['after']);
    const dead = await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'));
    expect(dead).toHaveLength(1);
    expect(dead[0]?.value).toEqual(forged);
    expect(headerText(dead[0]?.headers, DLQ_HEADERS.code)).toBe('DECODE');
    expect(headerText(dead[0]?.headers, DLQ_HEADERS.reason)).toMatch(/tracks: claims 2147483648 items or more, over the limit of 100000/);
  });
});
