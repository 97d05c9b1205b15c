import { createEmbeddingTrainer, type EmbeddingMethod, type ItemEmbeddings } from '../models/embeddings/index.js';
import type { ModelAnnouncement } from '../streams/index.js';
import { EMBEDDINGS_BACKEND, RegistryError } from './artifacts.js';
import type { AnnounceTarget, DataWindow, ModelRegistry, ModelVersion } from './registry.js';

/** A playlist as the embedding trainer reads it: a basket of track ids. */
export interface TrainingPlaylist {
  readonly id: string;
  readonly tracks: readonly string[];
}

export interface TrainTrackEmbeddingsOptions {
  readonly playlists: readonly TrainingPlaylist[];
  /** Vector size (default: the trainer's). The live recommender's is `LIVE_EMBEDDING_DIMS` of processors/. */
  readonly dims?: number;
  readonly method?: EmbeddingMethod;
  /** Tracks in fewer playlists get no vector (default: the trainer's). */
  readonly minCount?: number;
  readonly seed?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/**
 * Track embeddings learned from playlists' track lists with the trainer and options of the recommendation
 * pipeline (models/pipeline `buildPlaylistPipeline`: each playlist one basket, options over the trainer's
 * defaults), so a published version is what the live recommender would have trained at start.
 * Throws {@link RegistryError} when there is no playlist.
 */
export function trainTrackEmbeddings(o: TrainTrackEmbeddingsOptions): ItemEmbeddings {
  if (o.playlists.length === 0) throw new RegistryError('no playlists to train track embeddings on');
  const trainer = createEmbeddingTrainer({
    ...(o.log ? { log: o.log } : {}),
    ...(o.dims === undefined ? {} : { dims: o.dims }),
    ...(o.method === undefined ? {} : { method: o.method }),
    ...(o.minCount === undefined ? {} : { minCount: o.minCount }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
  });
  return trainer.train(o.playlists.map((p) => p.tracks));
}

/**
 * Offline figures of trained embeddings for the registry and the announcement: vocabulary size, vector size,
 * baskets, training seconds, and track coverage (the share of the playlists' distinct tracks that got a vector).
 */
export function trackEmbeddingMetrics(emb: ItemEmbeddings, playlists: readonly TrainingPlaylist[]): Record<string, number> {
  const tracks = new Set<string>();
  for (const p of playlists) for (const t of p.tracks) tracks.add(t);
  let covered = 0;
  for (const t of tracks) if (emb.vocabulary.indexOf(t) !== undefined) covered++;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    items: emb.vocabulary.ids.length,
    dims: emb.dims,
    baskets: num(emb.params.baskets),
    trainSeconds: num(emb.params.seconds),
    trackCoverage: tracks.size === 0 ? 0 : covered / tracks.size,
  };
}

export interface PublishTrackEmbeddingsOptions extends TrainTrackEmbeddingsOptions {
  readonly registry: ModelRegistry;
  /** Where the playlists came from (recorded in registry.json). */
  readonly dataWindow?: DataWindow | null;
  /** Announce the version here and mark it production; without it the version stays a candidate. */
  readonly announceTo?: AnnounceTarget;
}

export interface PublishedTrackEmbeddings {
  readonly version: ModelVersion;
  /** The announcement written, when `announceTo` was given. */
  readonly announcement?: ModelAnnouncement;
}

/**
 * Trains track embeddings ({@link trainTrackEmbeddings}), publishes them with their metrics and parameters
 * (the parent is the version in production, if any) and, with `announceTo`, announces them. The trainer is
 * seeded, so the same playlists and options give the same version: publishing them again changes nothing.
 */
export async function publishTrackEmbeddings(o: PublishTrackEmbeddingsOptions): Promise<PublishedTrackEmbeddings> {
  const log = o.log ?? (() => {});
  const embeddings = trainTrackEmbeddings(o);
  const parent = await o.registry.production('TRACK_EMBEDDINGS');
  const version = await o.registry.publishEmbeddings(embeddings, {
    params: { method: embeddings.method, dims: embeddings.dims, ...embeddings.params },
    dataWindow: o.dataWindow ?? null,
    metrics: trackEmbeddingMetrics(embeddings, o.playlists),
    parent: parent?.version ?? null,
    backend: EMBEDDINGS_BACKEND,
  });
  log(`published track embeddings ${version.version} (${version.status}) at ${version.uri}`);
  if (!o.announceTo) return { version };
  const announcement = await o.registry.announce(o.announceTo, 'TRACK_EMBEDDINGS', version.version);
  log(`announced track embeddings ${version.version}: now in production`);
  return { version: (await o.registry.get('TRACK_EMBEDDINGS', version.version)) ?? version, announcement };
}
