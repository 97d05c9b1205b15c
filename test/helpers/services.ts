import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { testConfig } from './config.js';
import type { BuddiesConfig } from '../../config/index.js';
import {
  connectStreams, createSchemaRegistry, ensureTopics, type AvroSerde, type AvroTopicKey, type TopicKey, type TopicNames,
} from '../../streams/index.js';

/** Everything an integration test needs, on a fresh random topic prefix of its own. */
export interface TestBed {
  readonly cfg: BuddiesConfig;
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly topics: TopicNames;
  readonly serde: AvroSerde;
  readonly schemasDir: string;
  /** A fresh id for consumer groups and transactional ids. */
  unique(label: string): string;
}

export function randomId(): string {
  return randomBytes(5).toString('hex');
}

/**
 * A fresh topic prefix, `test-<run>-<id>.`: `<run>` tags this test run (set by integration-teardown.ts,
 * which deletes the run's topics afterwards), `<id>` is random. `id` when the caller needs the same id elsewhere.
 */
export function testPrefix(id = randomId()): string {
  const run = process.env.BUDDIES_TEST_RUN;
  return `test-${run ? `${run}-` : ''}${id}.`;
}

/** Creates this test's topics (fresh prefix) and registers their schemas in the real registry. */
export async function createTestBed(keys: readonly TopicKey[]): Promise<TestBed> {
  const cfg = testConfig();
  const id = randomId();
  const avroKeys = keys.filter((k): k is AvroTopicKey => k !== 'deadLetters');
  const { kafka, serde, topics } = await connectStreams(cfg, { role: `test-${id}`, prefix: testPrefix(id), keys: avroKeys });
  await ensureTopics(kafka, topics, keys);
  return {
    cfg, kafka, topics, serde, schemasDir: join(cfg.rootDir, 'schemas'), registry: createSchemaRegistry(cfg.registry.url),
    unique: (label) => `${topics.prefix}${label}-${randomId()}`,
  };
}
