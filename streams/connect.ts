import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { BuddiesConfig } from '../config/index.js';
import { createKafka } from './kafka.js';
import { createAvroSerde, createSchemaRegistry, type AvroSerde } from './serde.js';
import { topicNames, type AvroTopicKey, type TopicNames } from './topics.js';

export interface StreamClients {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly topics: TopicNames;
}

/**
 * A Kafka client and a serde with the schemas of `keys` registered (default: every Avro topic), on the
 * configured topic prefix or `prefix`. `role` names the client (`buddies-import`, ...).
 */
export async function connectStreams(cfg: BuddiesConfig, opts: { readonly role: string; readonly keys?: readonly AvroTopicKey[]; readonly prefix?: string }): Promise<StreamClients> {
  const topics = topicNames(opts.prefix ?? cfg.topicPrefix);
  const kafka = createKafka({ brokers: cfg.kafka.brokers, clientId: `${cfg.clientId}-${opts.role}`, security: cfg.kafka.security });
  const serde = await createAvroSerde({ registry: createSchemaRegistry(cfg.registry.url, cfg.registry.auth), topics, schemasDir: join(cfg.rootDir, 'schemas'), keys: opts.keys });
  return { kafka, serde, topics };
}
