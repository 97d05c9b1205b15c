import type {
  FeedbackEvent, InteractionWindow, ListenEvent, ModelAnnouncement, PlaylistEvent, RecommendationList, UserPairing, UserTasteEmbedding,
} from './records.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One topic, declared once: its name, layout, retention, what keys it and which Avro schema its values use. */
export interface TopicSpec {
  /** Name without the configured prefix. */
  readonly name: string;
  readonly partitions: number;
  readonly cleanupPolicy: 'delete' | 'compact';
  /** retention.ms for 'delete' topics; null keeps the broker default. */
  readonly retentionMs: number | null;
  readonly keyedBy: 'userId' | 'playlistId' | 'modelName' | 'source key';
  /** File in schemas/ for the value; null for raw bytes (the dead-letter topic). */
  readonly schemaFile: string | null;
}

/** The value type carried by each topic: producers and consumers are generic over this map. */
export interface TopicValues {
  listens: ListenEvent;
  feedback: FeedbackEvent;
  playlists: PlaylistEvent;
  tasteEmbeddings: UserTasteEmbedding;
  pairings: UserPairing;
  interactionWindows: InteractionWindow;
  recommendations: RecommendationList;
  modelAnnouncements: ModelAnnouncement;
  deadLetters: Buffer;
}

export type TopicKey = keyof TopicValues;
/** Topics whose values are Avro records registered in the schema registry. */
export type AvroTopicKey = Exclude<TopicKey, 'deadLetters'>;

export const TOPICS: { readonly [K in TopicKey]: TopicSpec } = {
  listens: { name: 'buddies.listens.v1', partitions: 6, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, keyedBy: 'userId', schemaFile: 'listen-event.avsc' },
  feedback: { name: 'buddies.feedback.v1', partitions: 6, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, keyedBy: 'userId', schemaFile: 'feedback-event.avsc' },
  playlists: { name: 'buddies.playlists.v1', partitions: 3, cleanupPolicy: 'delete', retentionMs: 365 * DAY_MS, keyedBy: 'playlistId', schemaFile: 'playlist-event.avsc' },
  tasteEmbeddings: { name: 'buddies.taste-embeddings.v1', partitions: 6, cleanupPolicy: 'compact', retentionMs: null, keyedBy: 'userId', schemaFile: 'user-taste-embedding.avsc' },
  pairings: { name: 'buddies.pairings.v1', partitions: 6, cleanupPolicy: 'compact', retentionMs: null, keyedBy: 'userId', schemaFile: 'user-pairing.avsc' },
  interactionWindows: { name: 'buddies.interaction-windows.v1', partitions: 3, cleanupPolicy: 'delete', retentionMs: 7 * DAY_MS, keyedBy: 'userId', schemaFile: 'interaction-window.avsc' },
  recommendations: { name: 'buddies.recommendations.v1', partitions: 6, cleanupPolicy: 'delete', retentionMs: 7 * DAY_MS, keyedBy: 'userId', schemaFile: 'recommendation-list.avsc' },
  modelAnnouncements: { name: 'buddies.model-announcements.v1', partitions: 1, cleanupPolicy: 'compact', retentionMs: null, keyedBy: 'modelName', schemaFile: 'model-announcement.avsc' },
  deadLetters: { name: 'buddies.dead-letters.v1', partitions: 3, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, keyedBy: 'source key', schemaFile: null },
};

export const TOPIC_KEYS = Object.keys(TOPICS) as TopicKey[];

/**
 * Topics that stream applications read together (partition p of each is one task, e.g. the recommender's
 * listens and feedback of one user): each group must keep one partition count, in the map and on the broker.
 */
export const CO_PARTITIONED: ReadonlyArray<readonly TopicKey[]> = [['listens', 'feedback']];
export const AVRO_TOPIC_KEYS = TOPIC_KEYS.filter((k): k is AvroTopicKey => TOPICS[k].schemaFile !== null);

/** Resolves topic names under a prefix (empty in production; a fresh random one per test). */
export interface TopicNames {
  readonly prefix: string;
  name(key: TopicKey): string;
  /** The value subject in the registry (Confluent's TopicNameStrategy). */
  subject(key: AvroTopicKey): string;
  keyOf(topicName: string): TopicKey | undefined;
}

export function topicNames(prefix = ''): TopicNames {
  const byName = new Map(TOPIC_KEYS.map((k) => [`${prefix}${TOPICS[k].name}`, k] as const));
  return {
    prefix,
    name: (key) => `${prefix}${TOPICS[key].name}`,
    subject: (key) => `${prefix}${TOPICS[key].name}-value`,
    keyOf: (name) => byName.get(name),
  };
}
