import type { Kafka } from 'kafkajs';
import {
  changelogTopic, partitionOf, readTopicSnapshot, TOPICS, type AvroSerde, type RecommendationList, type UserPairing, type UserTasteEmbedding,
} from '../streams/index.js';
import { USERS_STORE, type UserState } from './recommender.js';

/** A user as the live system holds them: the latest record of each topic keyed by them, and the store's view. */
export interface UserInspection {
  readonly userId: string;
  /** The latest taste-embedding record (compacted topic), or null. */
  readonly taste: UserTasteEmbedding | null;
  /** The latest pairing record (compacted topic), or null. */
  readonly pairing: UserPairing | null;
  /** The latest recommendation list, or null. */
  readonly recommendations: RecommendationList | null;
  /** The recommender's store entry (events counted, active exclusions, follows), or null. */
  readonly state: {
    readonly events: number;
    readonly lists: number;
    readonly excluded: ReadonlyArray<{ readonly playlistId: string; readonly until: number | null }>;
    readonly follows: readonly string[];
    readonly buddies: readonly string[];
    readonly embeddingVersion: string;
    readonly tastePositives: number;
  } | null;
}

export interface InspectOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  /** The recommender's application id (its store's changelog topic is named after it). */
  readonly applicationId: string;
  readonly userId: string;
}

/**
 * Reads a user's state from the live system: the partition of each topic that holds their key (so the cost is
 * one partition per topic, not the topics), the latest record for the key. Tombstones count as absent.
 */
export async function inspectUser(o: InspectOptions): Promise<UserInspection> {
  const { kafka, serde, userId } = o;
  const topics = serde.topics;
  const latest = async (topic: string, partitions: number): Promise<Buffer | null> => {
    const p = partitionOf(userId, partitions);
    let value: Buffer | null = null;
    for (const m of await readTopicSnapshot(kafka, topic, { partitions: [p], timeoutMs: 30_000 })) if (m.key?.toString() === userId) value = m.value;
    return value;
  };
  const inputPartitions = TOPICS.listens.partitions; // the recommender's tasks, and so its changelog partitions
  const [taste, pairing, list, state] = await Promise.all([
    latest(topics.name('tasteEmbeddings'), TOPICS.tasteEmbeddings.partitions),
    latest(topics.name('pairings'), TOPICS.pairings.partitions),
    latest(topics.name('recommendations'), TOPICS.recommendations.partitions),
    latest(changelogTopic(topics.prefix, o.applicationId, USERS_STORE.name), inputPartitions),
  ]);
  const s = state ? USERS_STORE.codec.decode(state) : null;
  return {
    userId,
    taste: taste ? await serde.decode('tasteEmbeddings', taste) : null,
    pairing: pairing ? await serde.decode('pairings', pairing) : null,
    recommendations: list ? await serde.decode('recommendations', list) : null,
    state: s ? stateView(s) : null,
  };
}

function stateView(s: UserState): NonNullable<UserInspection['state']> {
  return {
    events: s.events,
    lists: s.lists,
    excluded: Object.entries(s.excluded).map(([playlistId, until]) => ({ playlistId, until: until >= Number.MAX_SAFE_INTEGER ? null : until })),
    follows: s.follows,
    buddies: s.buddies,
    embeddingVersion: s.embeddingVersion,
    tastePositives: s.taste.positives,
  };
}

/** Whether the live system knows the user at all. */
export function knowsUser(u: UserInspection): boolean {
  return u.taste !== null || u.pairing !== null || u.recommendations !== null || u.state !== null;
}
