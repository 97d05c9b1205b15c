export { TOPICS, TOPIC_KEYS, AVRO_TOPIC_KEYS, CO_PARTITIONED, topicNames } from './topics.js';
export type { TopicSpec, TopicValues, TopicKey, AvroTopicKey, TopicNames } from './topics.js';
export type {
  ListenEvent, ListenSource, FeedbackEvent, FeedbackKind, PlaylistEvent, PlaylistEventKind, UserTasteEmbedding, Buddy,
  UserPairing, PlaylistInteraction, InteractionWindow, Explanation, RecommendedPlaylist, RecommendationList, ModelKind,
  ModelAnnouncement,
} from './records.js';
export { createKafka, kafkaSecurityOptions } from './kafka.js';
export type { KafkaOptions } from './kafka.js';
export { checkReplication, ensureTopics, groupLag, LOCAL_REPLICATION, requireTopics, topicConfigEntries } from './admin.js';
export type { EnsureResult, ReplicationOptions } from './admin.js';
export { createAvroSerde, createSchemaRegistry, readTopicSchema } from './serde.js';
export { checkAvroBody, DEFAULT_DECODE_LIMITS } from './avro-guard.js';
export type { DecodeLimits } from './avro-guard.js';
export type { AvroSerde, SerdeOptions } from './serde.js';
export { createTypedProducer, createIdempotentProducer } from './producer.js';
export type { TypedProducer, OutRecord, ProducerOptions } from './producer.js';
export { DLQ_HEADERS, deadLetterMessage, headerText } from './dead-letter.js';
export { BuddiesError, DecodeError, MissingTopicsError, ValidationError, TransientError, isRetriable, errorMessage } from './errors.js';
export { withRetry, backoffMs } from './retry.js';
export type { RetryOptions } from './retry.js';
export { stopOnSignals } from './shutdown.js';
export type { Stoppable } from './shutdown.js';
export { connectStreams } from './connect.js';
export type { StreamClients } from './connect.js';
export { readTopicSnapshot, restoreStore } from './snapshot.js';
export { partitionOf } from './partition.js';
export type { SnapshotMessage } from './snapshot.js';
export { createStreamsApp } from './app.js';
export type { StreamsApp, StreamsAppOptions, StreamsAppState, StreamsAppStats } from './app.js';
export type { StreamsObserver } from './task.js';
export { changelogTopic } from './topology.js';
export type { Guarantee, PunctuationType, TaskContext, TaskProcessor, TaskRecord, Topology } from './topology.js';
export { createTaskStore, jsonCodec, storeSpec } from './store.js';
export type { ChangelogRecord, KeyValueStore, StoreCodec, StoreSpec, TaskStore } from './store.js';
export { coPartitionedAssigner } from './assigner.js';
export { createCountingTopology, USER_COUNTS } from './counting.js';
export type { CountingTopologyOptions, UserCounts } from './counting.js';
export { createLocalSerde, createMemoryRegistry, createTopologyTestDriver } from './test-driver.js';
export type { DeadLetter, PipeOptions, TestDriverOptions, TopologyTestDriver } from './test-driver.js';
export { benchmarkRuntime } from './benchmark.js';
export type { RuntimeBenchOptions, RuntimeBenchResult } from './benchmark.js';
export { createStreamsMetrics, serveHealth, serveProbes } from './metrics.js';
export type { HealthServer, StreamsMetrics } from './metrics.js';
export { createGlobalTable, globalTableSpec } from './global-table.js';
export type { GlobalTable, GlobalTableOptions, GlobalTableSpec, ReadonlyTable } from './global-table.js';
