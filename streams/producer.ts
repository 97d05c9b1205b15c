import { Partitioners, type IHeaders, type Kafka, type Message, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';
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

/**
 * The most bytes of keys, values and headers the runtime puts in one produce request: half the broker's default
 * limit on a record batch (`message.max.bytes`, 1 MiB), leaving room for record overhead.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

function messageBytes(m: Message): number {
  const len = (x: unknown) => (x === null || x === undefined ? 0 : typeof x === 'string' ? Buffer.byteLength(x) : Buffer.isBuffer(x) ? x.length : String(x).length);
  let n = 32 + len(m.key) + len(m.value); // offset delta, timestamp, lengths
  for (const [k, v] of Object.entries(m.headers ?? {})) n += len(k) + (Array.isArray(v) ? v.reduce<number>((a, x) => a + len(x), 0) : len(v));
  return n;
}

/**
 * Splits messages into groups of at most `maxBytes` each (a message larger than that goes alone), keeping each topic's
 * messages in order, so each group can be one produce request under the broker's size limit.
 */
export function chunkTopicMessages(messages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = () => {
    if (current.size) out.push([...current].map(([topic, msgs]) => ({ topic, messages: msgs })));
    current = new Map();
    bytes = 0;
  };
  for (const tm of messages) {
    for (const m of tm.messages) {
      const n = messageBytes(m);
      if (bytes > 0 && bytes + n > maxBytes) flush();
      const list = current.get(tm.topic) ?? [];
      list.push(m);
      current.set(tm.topic, list);
      bytes += n;
    }
  }
  flush();
  return out;
}
