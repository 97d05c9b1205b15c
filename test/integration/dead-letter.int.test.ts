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
