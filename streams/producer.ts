import { Partitioners, type IHeaders, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import type { AvroSerde } from './serde.js';
import type { AvroTopicKey, TopicValues } from './topics.js';

/** A record to send: the key is the user, playlist or model id the topic map says it is keyed by. */
export interface OutRecord<K extends AvroTopicKey> {
  readonly key: string;
  readonly value: TopicValues[K];
  readonly headers?: IHeaders;
  readonly timestamp?: number;
}

/** An idempotent producer that only accepts each topic's own record type. */
export interface TypedProducer {
  connect(): Promise<void>;
  send<K extends AvroTopicKey>(topic: K, records: ReadonlyArray<OutRecord<K>>): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

export interface ProducerOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
}

/** The kafkajs producer settings for exactly-once-safe writes (idempotent, one request in flight). */
export function createIdempotentProducer(kafka: Kafka, transactionalId?: string): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    transactionalId,
    createPartitioner: Partitioners.DefaultPartitioner,
    // unbounded retries, as kafkajs advises for idempotence: a limit could break exactly-once
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 },
  });
}

export async function encodeRecords<K extends AvroTopicKey>(serde: AvroSerde, topic: K, records: ReadonlyArray<OutRecord<K>>) {
  return Promise.all(records.map(async (r) => ({
    key: r.key,
    value: await serde.encode(topic, r.value),
    headers: r.headers,
    timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
  })));
}

export function createTypedProducer(opts: ProducerOptions): TypedProducer {
  const producer = createIdempotentProducer(opts.kafka);
  return {
    connect: () => producer.connect(),
    async send(topic, records) {
      if (records.length === 0) return [];
      const messages = await encodeRecords(opts.serde, topic, records);
      return producer.send({ topic: opts.serde.topics.name(topic), acks: -1, messages });
    },
    disconnect: () => producer.disconnect(),
  };
}
