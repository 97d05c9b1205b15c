import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { buildPlaylistPipeline } from '../models/pipeline/index.js';
import type { TasteModelOptions } from '../models/taste/index.js';
import {
  createStreamsApp, readTopicSnapshot, type AvroSerde, type AvroTopicKey, type PlaylistEvent, type StreamsApp, type StreamsMetrics, type Topology, type TopicNames,
} from '../streams/index.js';
import { foldPlaylists, pipelinePlaylists } from './playlist-table.js';
import { createLiveRecommender, type LiveRecommender, type RecommendStrategy } from './recommender.js';
import { createWarehouseSinkTopology, SINK_TOPICS } from './warehouse-sink.js';

/** The stream applications of one process: `start` joins their groups, `stop` finishes each batch, commits and leaves. */
export interface ProcessorApp {
  readonly apps: readonly StreamsApp[];
  start(): Promise<void>;
  /** Idempotent; the applications stop in parallel, each waiting out its batches in flight. */
  stop(): Promise<void>;
}

function appOf(apps: readonly StreamsApp[], close: () => Promise<void>): ProcessorApp {
  let stopping: Promise<void> | undefined;
  return {
    apps,
    start: async () => {
      await Promise.all(apps.map((a) => a.start()));
    },
    stop: () => (stopping ??= Promise.all(apps.map((a) => a.stop())).then(close)),
  };
}

/** What every processor app takes: clients, logging, what to do when an app cannot go on, and metrics. */
interface AppBase {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly log: (line: string) => void;
  /** Called when an application stops for good (its consumer crashed): the process should exit non-zero. */
  readonly onFatal?: (err: unknown) => void;
  readonly metrics?: StreamsMetrics;
}

function streamsApp<I extends AvroTopicKey>(o: AppBase, topology: Topology<I>): StreamsApp {
  const app = createStreamsApp({
    kafka: o.kafka, serde: o.serde, topology, log: o.log,
    ...(o.onFatal ? { onFatal: o.onFatal } : {}),
    ...(o.metrics ? { observer: o.metrics.observer(topology.applicationId) } : {}),
  });
  o.metrics?.attach(topology.applicationId, app);
  return app;
}

export interface WarehouseAppOptions extends AppBase {
  readonly client: ClickHouseClient;
  /** Applications (consumer groups) are `${groupPrefix}.warehouse.${topic}`. */
  readonly groupPrefix: string;
}

/**
 * Listens, feedback, playlists and recommendations into ClickHouse, one at-least-once application per topic
 * (the ReplacingMergeTree tables fold replays away). Stopping closes the ClickHouse client too.
 */
export function createWarehouseApp(o: WarehouseAppOptions): ProcessorApp {
  const apps = SINK_TOPICS.map((topic) => streamsApp(o, createWarehouseSinkTopology({ topic, client: o.client, applicationId: `${o.groupPrefix}.warehouse.${topic}` })));
  return appOf(apps, () => o.client.close());
}

/**
 * The live recommender as a topology: one exactly-once application over listens and feedback, co-partitioned by
 * user, so both streams of a user meet in one task. Starts at the latest records when the group is new (a backlog
 * would only fold into tastes: see `listsFrom`). Its per-user state is still the recommender's own memory.
 */
export function recommenderTopology(live: LiveRecommender, applicationId: string): Topology<'listens' | 'feedback'> {
  return {
    applicationId,
    inputs: ['listens', 'feedback'],
    startAt: 'latest',
    processor: () => ({
      process: (record, ctx) => (record.input === 'listens' ? live.listens.process(record, ctx) : live.feedback.process(record, ctx)),
    }),
  };
}

/** Buddies per listener in the live recommender: fewer than offline (300), since every refresh queries the index. */
export const LIVE_BUDDIES = 50;

/** Track embedding size of the live recommender (its value before the defaults were gathered; the offline one is 64). */
export const LIVE_EMBEDDING_DIMS = 32;

export interface RecommenderAppOptions extends AppBase {
  readonly topics: TopicNames;
  /** The application (consumer group) is `${groupPrefix}.recommender.${strategy}`. */
  readonly groupPrefix: string;
  readonly strategy: RecommendStrategy;
  /** Playlists per list. */
  readonly k: number;
  /** Listens between two lists for a user. */
  readonly refreshEvery: number;
  /** Track embedding size (default {@link LIVE_EMBEDDING_DIMS}). */
  readonly dims?: number;
  /** Taste signal weights over the model's defaults (skip and dismiss flags). */
  readonly taste?: Omit<TasteModelOptions, 'dims'>;
}

/**
 * The live recommender: reads the playlist table (the playlists topic, folded), builds track embeddings and
 * the owners' tastes, then runs the recommender topology (one exactly-once application over listens and feedback).
 * Throws when the playlist table is empty (import some first).
 */
export async function createRecommenderApp(o: RecommenderAppOptions): Promise<ProcessorApp> {
  o.log('recommender: reading the playlist table');
  const snapshot = await readTopicSnapshot(o.kafka, o.topics.name('playlists'));
  const events: PlaylistEvent[] = [];
  for (const m of snapshot) if (m.value) events.push(await o.serde.decode('playlists', m.value));
  const playlists = pipelinePlaylists(foldPlaylists(events));
  if (playlists.length === 0) throw new EmptyPlaylistTableError(o.topics.name('playlists'));
  const dims = o.dims ?? LIVE_EMBEDDING_DIMS;
  o.log(`recommender: ${playlists.length} playlists; training ${dims}-dimensional track embeddings`);
  const pipeline = await buildPlaylistPipeline(playlists, { embeddings: { dims }, buddies: LIVE_BUDDIES, log: o.log });
  const live = createLiveRecommender({ pipeline, strategy: o.strategy, k: o.k, refreshEvery: o.refreshEvery, ...(o.taste ? { taste: o.taste } : {}) });
  const app = streamsApp(o, recommenderTopology(live, `${o.groupPrefix}.recommender.${o.strategy}`));
  return appOf([app], () => pipeline.close());
}

/** The playlists topic holds no playlist: the recommender has nothing to recommend. */
export class EmptyPlaylistTableError extends Error {
  override readonly name = 'EmptyPlaylistTableError';
  constructor(readonly topic: string) {
    super(`no playlists in ${topic}`);
  }
}
