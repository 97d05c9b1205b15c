import type { ClickHouseClient } from '@clickhouse/client';
import { Counter } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { createRanker } from '../models/ranking/index.js';
import { DEFAULT_MIN_SIGNAL, type TasteModelOptions } from '../models/taste/index.js';
import {
  createStreamsApp, type AvroSerde, type AvroTopicKey, type StreamsApp, type StreamsMetrics, type Topology, type TopicNames,
} from '../streams/index.js';
import { DEFAULT_EMBEDDING_OPTIONS, type EmbeddingMethod } from '../models/embeddings/index.js';
import { latestAnnouncements, publishTrackEmbeddings, type ModelRegistry, type ModelVersion } from '../registry/index.js';
import { pipelinePlaylists, readPlaylistTable } from './playlist-table.js';
import { createLiveWorld, type LiveIndexKind, type LiveWorld } from './live-world.js';
import { createLiveRecommender, USERS_STORE, type LiveRecommender, type RecommenderOptions, type RecommendStrategy } from './recommender.js';
import { createWarehouseSinkTopology, SINK_TOPICS } from './warehouse-sink.js';
import { windowsTopology } from './windows.js';

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
  /** Listens and feedback stamped further ahead of the clock are clamped to it (`BUDDIES_MAX_CLOCK_SKEW_MS`; default 1 h). */
  readonly maxFutureSkewMs?: number;
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
  const apps = SINK_TOPICS.map((topic) => streamsApp(o, createWarehouseSinkTopology({
    topic, client: o.client, applicationId: `${o.groupPrefix}.warehouse.${topic}`, ...(o.maxFutureSkewMs !== undefined ? { maxFutureSkewMs: o.maxFutureSkewMs } : {}),
    onUnattributed: (rows, table) => o.log(`warehouse: ${rows} ${table} rows written without their list's model version (the list did not reach the warehouse in time)`),
  })));
  return appOf(apps, () => o.client.close());
}

export interface WindowsAppOptions extends AppBase {
  /** The application (consumer group) is `${groupPrefix}.windows`. */
  readonly groupPrefix: string;
  readonly windowMs?: number;
  readonly graceMs?: number;
}

/**
 * Interaction windows for the trainer: one exactly-once application over listens and feedback. Events later than
 * the grace period are counted in `buddies_windows_late_events_total` (when metrics are given).
 */
export function createWindowsApp(o: WindowsAppOptions): ProcessorApp {
  const late = o.metrics
    ? new Counter({ name: 'buddies_windows_late_events_total', help: 'Events dropped because their window had closed (later than the grace period).', registers: [o.metrics.registry] })
    : undefined;
  const topology = windowsTopology({
    applicationId: `${o.groupPrefix}.windows`,
    ...(o.windowMs !== undefined ? { windowMs: o.windowMs } : {}),
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    ...(late ? { onLate: (n: number) => late.inc(n) } : {}),
    ...(o.maxFutureSkewMs !== undefined ? { maxFutureSkewMs: o.maxFutureSkewMs } : {}),
  });
  return appOf([streamsApp(o, topology)], async () => {});
}

/**
 * The live recommender as a topology: one exactly-once application over listens and feedback, co-partitioned by
 * user, so both streams of a user meet in one task. Its `users` store holds each user's state; three global tables
 * (playlists, tastes, model announcements) feed the world every instance shares. A wall-clock punctuation each
 * second re-pairs users whose buddies were forgotten.
 */
export function recommenderTopology(live: LiveRecommender, world: LiveWorld, applicationId: string, startAt: 'earliest' | 'latest' = 'earliest'): Topology<'listens' | 'feedback'> {
  return {
    applicationId,
    inputs: ['listens', 'feedback'],
    startAt,
    stores: [USERS_STORE],
    globals: world.globals,
    punctuate: [{ type: 'wall-clock', everyMs: 1000 }],
    processor: () => live.processor(),
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
  /** Taste signal weights over the model's defaults (skip and dismiss flags). */
  readonly taste?: Omit<TasteModelOptions, 'dims'>;
  /** Where a new group starts (default earliest: the whole retained history folds into the users' state). */
  readonly startAt?: 'earliest' | 'latest';
  readonly index?: LiveIndexKind;
  /**
   * Called when no track embeddings have been announced yet: trains them, publishes and announces them (the
   * announcement then reaches the world through its global table). Without it, the app refuses to start.
   */
  readonly bootstrapEmbeddings?: () => Promise<void>;
  /** Extra options of the recommender (tests). */
  readonly recommender?: Partial<Omit<RecommenderOptions, 'world' | 'ranker'>>;
}

/** The application id of the live recommender for a group prefix and strategy. */
export function recommenderApplicationId(groupPrefix: string, strategy: RecommendStrategy): string {
  return `${groupPrefix}.recommender.${strategy}`;
}

/**
 * The live recommender: the recommender topology with its world (playlists, tastes and models from global
 * tables). Track embeddings come from the latest announcement; when there is none, `bootstrapEmbeddings` makes one.
 */
export async function createRecommenderApp(o: RecommenderAppOptions): Promise<ProcessorApp & { readonly live: LiveRecommender; readonly world: LiveWorld }> {
  const announced = [...(await latestAnnouncements(o.kafka, o.serde)).values()];
  if (!announced.some((a) => a.kind === 'TRACK_EMBEDDINGS')) {
    if (!o.bootstrapEmbeddings) throw new NoEmbeddingsError(o.topics.name('modelAnnouncements'));
    o.log('recommender: no track embeddings announced yet; training the first ones');
    await o.bootstrapEmbeddings();
  }
  const minSignal = o.taste?.minSignal ?? DEFAULT_MIN_SIGNAL;
  const world = createLiveWorld({ minSignal, log: o.log, ...(o.index ? { index: o.index } : {}) });
  const live = createLiveRecommender({
    world, ranker: createRanker(), strategy: o.strategy, k: o.k, refreshEvery: o.refreshEvery, buddies: LIVE_BUDDIES,
    ...(o.taste ? { taste: o.taste } : {}), ...(o.maxFutureSkewMs !== undefined ? { maxFutureSkewMs: o.maxFutureSkewMs } : {}), ...o.recommender,
  });
  const app = streamsApp(o, recommenderTopology(live, world, recommenderApplicationId(o.groupPrefix, o.strategy), o.startAt));
  return { ...appOf([app], () => world.close()), live, world };
}

export interface TrainEmbeddingsOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly registry: ModelRegistry;
  /** Vector size (default {@link LIVE_EMBEDDING_DIMS}). */
  readonly dims?: number;
  readonly method?: EmbeddingMethod;
  readonly minCount?: number;
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

/**
 * Track embeddings trained on the playlist table (the playlists topic, folded), published to the model registry with
 * the table's time range as data window, and announced: `buddies models train-embeddings`, and the first start of the
 * live recommender. Throws {@link EmptyPlaylistTableError} when there is no playlist to train on.
 */
export async function trainAndAnnounceEmbeddings(o: TrainEmbeddingsOptions): Promise<ModelVersion> {
  const topic = o.serde.topics.name('playlists');
  const table = await readPlaylistTable(o.kafka, o.serde);
  const playlists = pipelinePlaylists(table);
  if (playlists.length === 0) throw new EmptyPlaylistTableError(topic);
  let from = Infinity;
  let to = -Infinity;
  for (const p of table.values()) {
    from = Math.min(from, p.eventTime);
    to = Math.max(to, p.eventTime);
  }
  const dims = o.dims ?? LIVE_EMBEDDING_DIMS;
  o.log?.(`${playlists.length} playlists; training ${dims}-dimensional ${o.method ?? DEFAULT_EMBEDDING_OPTIONS.method} track embeddings`);
  const { version } = await publishTrackEmbeddings({
    registry: o.registry, playlists, dims, announceTo: { kafka: o.kafka, serde: o.serde },
    dataWindow: { source: `kafka:${topic}`, from: new Date(from).toISOString(), to: new Date(to).toISOString(), records: playlists.length },
    ...(o.method ? { method: o.method } : {}), ...(o.minCount !== undefined ? { minCount: o.minCount } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  return version;
}

/** The playlists topic holds no playlist: there is nothing to train track embeddings on. */
export class EmptyPlaylistTableError extends Error {
  override readonly name = 'EmptyPlaylistTableError';
  constructor(readonly topic: string) {
    super(`no playlists in ${topic}`);
  }
}

/** No track embeddings were ever announced: the recommender has no space to put tastes in. */
export class NoEmbeddingsError extends Error {
  override readonly name = 'NoEmbeddingsError';
  constructor(readonly topic: string) {
    super(`no track embeddings announced on ${topic}`);
  }
}
