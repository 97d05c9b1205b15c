import type { Kafka } from 'kafkajs';
import { MissingTopicsError } from './errors.js';
import { withRetry } from './retry.js';
import { CO_PARTITIONED, TOPICS, TOPIC_KEYS, type TopicKey, type TopicNames } from './topics.js';

export interface EnsureResult {
  readonly created: readonly string[];
  readonly existing: readonly string[];
  /**
   * Topics that applications read together ({@link CO_PARTITIONED}) must have the same partition count (partition p
   * of each belongs to task p): one line per group whose counts differ on the broker.
   */
  readonly notCoPartitioned: readonly string[];
}

/** How topics are replicated: 1 and 1 on the single local broker; 3 and 2 in production (docs/security.md). */
export interface ReplicationOptions {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

export const LOCAL_REPLICATION: ReplicationOptions = { replicationFactor: 1, minInsyncReplicas: 1 };

/** Throws RangeError on settings no cluster could honour (checked before connecting). */
export function checkReplication(r: ReplicationOptions): void {
  if (!Number.isInteger(r.replicationFactor) || r.replicationFactor < 1) throw new RangeError(`replication factor ${r.replicationFactor} is not a positive integer`);
  if (!Number.isInteger(r.minInsyncReplicas) || r.minInsyncReplicas < 1 || r.minInsyncReplicas > r.replicationFactor) {
    throw new RangeError(`min.insync.replicas ${r.minInsyncReplicas} must be between 1 and the replication factor ${r.replicationFactor}`);
  }
}

export function topicConfigEntries(key: TopicKey, replication: ReplicationOptions = LOCAL_REPLICATION): Array<{ name: string; value: string }> {
  const spec = TOPICS[key];
  const entries: Array<{ name: string; value: string }> = [
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    { name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) },
  ];
  if (spec.retentionMs !== null) entries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  if (spec.cleanupPolicy === 'compact') entries.push({ name: 'min.compaction.lag.ms', value: '60000' });
  return entries;
}

/**
 * Creates the topics of the map that do not exist yet (idempotent), with the replication factor and
 * `min.insync.replicas` of `replication` (default {@link LOCAL_REPLICATION}; existing topics are left as they are).
 */
export async function ensureTopics(kafka: Kafka, topics: TopicNames, keys: readonly TopicKey[] = TOPIC_KEYS, replication: ReplicationOptions = LOCAL_REPLICATION): Promise<EnsureResult> {
  checkReplication(replication);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = keys.filter((k) => !existing.has(topics.name(k)));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((k) => ({
          topic: topics.name(k),
          numPartitions: TOPICS[k].partitions,
          replicationFactor: replication.replicationFactor,
          configEntries: topicConfigEntries(k, replication),
        })),
      });
    }
    const groups = CO_PARTITIONED.filter((g) => g.every((k) => keys.includes(k)));
    const meta = groups.length ? await admin.fetchTopicMetadata({ topics: groups.flat().map((k) => topics.name(k)) }) : { topics: [] };
    const partitions = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const notCoPartitioned = groups
      .filter((g) => new Set(g.map((k) => partitions.get(topics.name(k)))).size > 1)
      .map((g) => g.map((k) => `${topics.name(k)} has ${partitions.get(topics.name(k))}`).join(', '));
    return {
      created: missing.map((k) => topics.name(k)),
      existing: keys.filter((k) => existing.has(topics.name(k))).map((k) => topics.name(k)),
      notCoPartitioned,
    };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Throws {@link MissingTopicsError} unless every topic of `keys` exists: a producer or consumer on a missing
 * topic would otherwise retry for ever ("This server does not host this topic-partition").
 */
export async function requireTopics(kafka: Kafka, topics: TopicNames, keys: readonly TopicKey[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = keys.map((k) => topics.name(k)).filter((t) => !existing.has(t));
    if (missing.length > 0) throw new MissingTopicsError(missing);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Records of `topic` that group `groupId` has not committed yet (all of them when it has committed
 * nothing). Retries retriable lookups: a new topic may answer NOT_LEADER for a moment.
 */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await withRetry(() => admin.fetchTopicOffsets(topic));
    const [committed] = await withRetry(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const e of ends) {
      const from = at.get(e.partition) ?? -1n;
      const start = from < 0n ? BigInt(e.low) : from; // -1: nothing committed yet
      if (BigInt(e.high) > start) lag += BigInt(e.high) - start;
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}
