import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AVRO_TOPIC_KEYS, createTypedProducer, type TypedProducer } from '../../streams/index.js';
import { readTopicToEnd } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

// Issue 2: a round trip of every schema through the real broker and registry.
describe('every event contract round-trips through Kafka and the schema registry', () => {
  let bed: TestBed;
  let producer: TypedProducer;
  beforeAll(async () => {
    bed = await createTestBed(AVRO_TOPIC_KEYS);
    producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
  });
  afterAll(async () => { await producer?.disconnect(); });

  for (const key of AVRO_TOPIC_KEYS) {
    it(`${key}`, async () => {
      const sample = SAMPLES[key];
      await producer.send(key, [{ key: sample.key, value: sample.value }]);
      const [msg, ...rest] = await readTopicToEnd(bed.kafka, bed.topics.name(key));
      expect(rest).toHaveLength(0);
      expect(msg?.key?.toString()).toBe(sample.key);
      // Confluent wire format: magic byte 0, then the id the registry gave this subject
      expect(msg?.value?.[0]).toBe(0);
      expect(msg?.value?.readInt32BE(1)).toBe(bed.serde.schemaIds.get(key));
      expect(await bed.serde.decode(key, msg?.value as Buffer)).toEqual(sample.value);
    });
  }

  it('refuses to encode a record that breaks its schema, naming the field', async () => {
    const bad = { ...SAMPLES.listens.value, msPlayed: 'long' as unknown as number };
    await expect(bed.serde.encode('listens', bad)).rejects.toThrow(/msPlayed/);
  });
});
