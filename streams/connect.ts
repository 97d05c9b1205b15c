import { connect } from 'node:net';
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
  await assertBrokersReachable(cfg.kafka.brokers);
  const topics = topicNames(opts.prefix ?? cfg.topicPrefix);
  const kafka = createKafka({ brokers: cfg.kafka.brokers, clientId: `${cfg.clientId}-${opts.role}`, security: cfg.kafka.security });
  const serde = await createAvroSerde({ registry: createSchemaRegistry(cfg.registry.url, cfg.registry.auth), topics, schemasDir: join(cfg.rootDir, 'schemas'), keys: opts.keys });
  return { kafka, serde, topics };
}

/**
 * Fails at once when no broker accepts a TCP connection within `timeoutMs`: kafkajs would retry its seed brokers
 * for about a minute, logging each attempt, before a command could say in one line that Kafka is down. The error
 * carries the socket's code and address (`connect ECONNREFUSED host:port`), which the CLI turns into that line.
 */
export async function assertBrokersReachable(brokers: readonly string[], timeoutMs = 3000): Promise<void> {
  const errors = await Promise.all(brokers.map((b) => tryConnect(b, timeoutMs)));
  if (errors.some((e) => e === undefined)) return;
  throw errors[0]!;
}

function tryConnect(broker: string, timeoutMs: number): Promise<Error | undefined> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (err: Error | undefined) => { sock.destroy(); resolve(err); };
    sock.setTimeout(timeoutMs, () => done(Object.assign(new Error(`connect ETIMEDOUT ${broker}`), { code: 'ETIMEDOUT' })));
    sock.once('connect', () => done(undefined));
    sock.once('error', (err: NodeJS.ErrnoException) => done(Object.assign(new Error(`connect ${err.code ?? 'ECONNREFUSED'} ${broker}`), { code: err.code })));
  });
}
