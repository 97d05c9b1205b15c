export { TOPICS, TOPIC_KEYS, AVRO_TOPIC_KEYS, topicNames } from './topics.js';
export type { TopicSpec, TopicValues, TopicKey, AvroTopicKey, TopicNames } from './topics.js';
export type {
  ListenEvent, ListenSource, FeedbackEvent, FeedbackKind, PlaylistEvent, PlaylistEventKind, UserTasteEmbedding, Buddy,
  UserPairing, PlaylistInteraction, InteractionWindow, Explanation, RecommendedPlaylist, RecommendationList, ModelKind,
  ModelAnnouncement,
} from './records.js';
export { createKafka } from './kafka.js';
export type { KafkaOptions } from './kafka.js';
export { ensureTopics, groupLag, requireTopics } from './admin.js';
export type { EnsureResult } from './admin.js';
export { createAvroSerde, createSchemaRegistry, readTopicSchema } from './serde.js';
export { checkAvroBody, DEFAULT_DECODE_LIMITS } from './avro-guard.js';
export type { DecodeLimits } from './avro-guard.js';
export type { AvroSerde, SerdeOptions } from './serde.js';
export { createTypedProducer, createIdempotentProducer } from './producer.js';
export type { TypedProducer, OutRecord, ProducerOptions } from './producer.js';
export { createStreamRunner } from './runner.js';
export type { StreamRunner, RunnerOptions, Processor, ProcessorContext, InRecord, DeliveryGuarantee, RunnerStats } from './runner.js';
export { DLQ_HEADERS, deadLetterMessage, headerText } from './dead-letter.js';
export { BuddiesError, DecodeError, MissingTopicsError, ValidationError, TransientError, isRetriable, errorMessage } from './errors.js';
export { withRetry, backoffMs } from './retry.js';
export type { RetryOptions } from './retry.js';
export { stopOnSignals } from './shutdown.js';
export type { Stoppable } from './shutdown.js';
export { connectStreams } from './connect.js';
export type { StreamClients } from './connect.js';
export { readTopicSnapshot } from './snapshot.js';
export type { SnapshotMessage } from './snapshot.js';
