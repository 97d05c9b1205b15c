import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createAvroSerde, createKafka, createSchemaRegistry, topicNames, type AvroSerde, type AvroTopicKey, type TopicNames } from '../streams/index.js';
import type { WarehouseOptions } from '../warehouse/index.js';
import type { BuddiesConfig } from './config.js';

/** The ClickHouse connection the configuration names (another database for tests and benchmarks). */
export function warehouseOptions(cfg: BuddiesConfig, database: string = cfg.clickhouse.database): WarehouseOptions {
  return { url: cfg.clickhouse.url, database, username: cfg.clickhouse.username, password: cfg.clickhouse.password };
}

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
  const kafka = createKafka({ brokers: cfg.kafka.brokers, clientId: `${cfg.clientId}-${opts.role}` });
  const serde = await createAvroSerde({ registry: createSchemaRegistry(cfg.registry.url), topics, schemasDir: join(cfg.rootDir, 'schemas'), keys: opts.keys });
  return { kafka, serde, topics };
}
