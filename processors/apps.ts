import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { buildPlaylistPipeline } from '../models/pipeline/index.js';
import type { TasteModelOptions } from '../models/taste/index.js';
import { createStreamRunner, readTopicSnapshot, type AvroSerde, type PlaylistEvent, type StreamRunner, type TopicNames } from '../streams/index.js';
import { foldPlaylists, pipelinePlaylists } from './playlist-table.js';
import { createLiveRecommender, type RecommendStrategy } from './recommender.js';
import { createWarehouseSink, SINK_TOPICS } from './warehouse-sink.js';

/** A running set of stream runners: `start` joins their groups, `stop` finishes each batch, commits and leaves. */
export interface ProcessorApp {
  start(): Promise<void>;
  /** Idempotent; runners leave their groups in parallel, each waiting out its fetch in flight. */
  stop(): Promise<void>;
}

function appOf(runners: readonly StreamRunner[], close: () => Promise<void>): ProcessorApp {
  let stopping: Promise<void> | undefined;
  return {
    start: async () => {
      await Promise.all(runners.map((r) => r.start()));
    },
    stop: () => (stopping ??= Promise.all(runners.map((r) => r.stop())).then(close)),
  };
}

export interface WarehouseAppOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly client: ClickHouseClient;
  /** Consumer groups are `${groupPrefix}.warehouse.${topic}`. */
  readonly groupPrefix: string;
  readonly log: (line: string) => void;
}

/**
 * Listens, feedback, playlists and recommendations into ClickHouse, one at-least-once runner per topic (the
 * ReplacingMergeTree tables fold replays away). Stopping closes the ClickHouse client too.
 */
export function createWarehouseApp(o: WarehouseAppOptions): ProcessorApp {
  const runners = SINK_TOPICS.map((topic) => createStreamRunner({
    kafka: o.kafka, serde: o.serde, input: topic, groupId: `${o.groupPrefix}.warehouse.${topic}`, guarantee: 'at-least-once',
    partitionsConcurrently: 3, processor: createWarehouseSink(topic, o.client), log: o.log,
  }));
  return appOf(runners, () => o.client.close());
}

/** Buddies per listener in the live recommender: fewer than offline (300), since every refresh queries the index. */
export const LIVE_BUDDIES = 50;

/** Track embedding size of the live recommender: half the offline 64, so a start (which trains them) stays short. */
export const LIVE_EMBEDDING_DIMS = 32;

export interface RecommenderAppOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly topics: TopicNames;
  /** Consumer groups are `${groupPrefix}.recommender.${strategy}.listens|feedback`. */
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
  readonly log: (line: string) => void;
}

/**
 * The live recommender: reads the playlist table (the playlists topic, folded), builds track embeddings and
 * the owners' tastes, then runs one exactly-once runner over listens and one over feedback.
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
  const group = `${o.groupPrefix}.recommender.${o.strategy}`;
  const runners = [
    createStreamRunner({ kafka: o.kafka, serde: o.serde, input: 'listens', groupId: `${group}.listens`, processor: live.listens, log: o.log, fromBeginning: false }),
    createStreamRunner({ kafka: o.kafka, serde: o.serde, input: 'feedback', groupId: `${group}.feedback`, processor: live.feedback, log: o.log, fromBeginning: false }),
  ];
  return appOf(runners, () => pipeline.close());
}

/** The playlists topic holds no playlist: the recommender has nothing to recommend. */
export class EmptyPlaylistTableError extends Error {
  override readonly name = 'EmptyPlaylistTableError';
  constructor(readonly topic: string) {
    super(`no playlists in ${topic}`);
  }
}
