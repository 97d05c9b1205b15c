import { existsSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { readTopicSchema } from './serde.js';
import { AVRO_TOPIC_KEYS, CO_PARTITIONED, TOPICS, TOPIC_KEYS, topicNames } from './topics.js';

const schemasDir = join(findRootDir(), 'schemas');

describe('the topic map', () => {
  it('gives every Avro topic a schema that parses and holds the field it is keyed by', () => {
    for (const key of AVRO_TOPIC_KEYS) {
      const spec = TOPICS[key];
      expect(existsSync(join(schemasDir, spec.schemaFile as string)), key).toBe(true);
      const type = avro.Type.forSchema(readTopicSchema(schemasDir, key)) as avro.types.RecordType;
      expect(type.fields.map((f) => f.name), key).toContain(spec.keyedBy);
    }
  });

  it('has unique names, a dead-letter topic without schema, and compaction only for latest-state topics', () => {
    const names = TOPIC_KEYS.map((k) => TOPICS[k].name);
    expect(new Set(names).size).toBe(names.length);
    expect(TOPICS.deadLetters.schemaFile).toBeNull();
    expect(TOPIC_KEYS.filter((k) => TOPICS[k].cleanupPolicy === 'compact').sort()).toEqual(['modelAnnouncements', 'pairings', 'tasteEmbeddings']);
  });

  it('prefixes names and subjects and maps names back to keys', () => {
    const t = topicNames('test-1.');
    expect(t.name('listens')).toBe('test-1.buddies.listens.v1');
    expect(t.subject('listens')).toBe('test-1.buddies.listens.v1-value');
    expect(t.keyOf('test-1.buddies.feedback.v1')).toBe('feedback');
    expect(t.keyOf('buddies.feedback.v1')).toBeUndefined();
  });

  it('gives the topics that applications read together one partition count (issue 8)', () => {
    for (const group of CO_PARTITIONED) expect(new Set(group.map((k) => TOPICS[k].partitions)).size, group.join(', ')).toBe(1);
  });
});
