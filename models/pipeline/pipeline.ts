import { createEmbeddingTrainer, vectorOf, type EmbeddingTrainerOptions, type ItemEmbeddings } from '../embeddings/index.js';
import { createExactIndex, createHnswIndex, type PairingIndex } from '../pairing/index.js';
import { createMemoryCatalog, createRanker, playlistCentroid, type PlaylistCatalog, type Ranker, type RankerOptions, type RankingUser, type Recommendation } from '../ranking/index.js';
import { createRecommender, historyTaste, offlineTasteModel, type Recommender } from '../recommend/index.js';
import type { TasteModel } from '../taste/index.js';

/** A playlist the pipeline recommends: made by `owner`, who likes its tracks. */
export interface PipelinePlaylist {
  readonly id: string;
  readonly owner: string;
  readonly tracks: readonly string[];
  readonly followers: number;
}

/** A user to recommend to: their listening history and playlists never to recommend. */
export interface PipelineQuery {
  readonly user: string;
  readonly tracks: readonly string[];
  readonly exclude: readonly string[];
}

export interface PipelineOptions {
  readonly embeddings?: EmbeddingTrainerOptions;
  /** Buddies per user: K of the taste KNN (default 300). */
  readonly buddies?: number;
  /** Pairing index: exact (default) or hnsw. */
  readonly index?: PairingIndexKind;
  /** Worker threads for exact batch KNN (default 2). */
  readonly threads?: number;
  readonly ranking?: RankerOptions;
  /** Distinct history tracks with an embedding needed before a user is personalised (default 1). */
  readonly minEmbeddedTracks?: number;
  readonly log?: (msg: string) => void;
}

export type PairingIndexKind = 'exact' | 'hnsw';

/** Defaults of {@link buildPlaylistPipeline} (and of the pairing commands, which import them). */
export const DEFAULT_PIPELINE_OPTIONS = { buddies: 300, index: 'exact', threads: 2, minEmbeddedTracks: 1 } as const satisfies Required<Omit<PipelineOptions, 'embeddings' | 'ranking' | 'log'>>;

/** The pipeline built once over a set of playlists: embeddings, owners' tastes in a pairing index, a catalogue. */
export interface PlaylistPipeline {
  readonly embeddings: ItemEmbeddings;
  readonly catalog: PlaylistCatalog;
  readonly index: PairingIndex;
  readonly ranker: Ranker;
  /** The taste model of the query users and the owners (offline: no recent ring). */
  readonly taste: TasteModel;
  readonly options: Required<Omit<PipelineOptions, 'embeddings' | 'ranking' | 'log'>>;
  /** The recommender (models/recommend) over this pipeline's catalogue and index: the one the live processor runs. */
  recommender(overrides?: { readonly ranker?: Ranker; readonly buddies?: number }): Recommender;
  /** The query users as the recommender takes them: their tracks folded into the taste model as plays at one time. */
  users(queries: readonly PipelineQuery[]): RankingUser[];
  /**
   * Recommends k playlists to each query user (same order as the queries). `overrides` swaps the
   * ranker or the number of buddies for this call (ablations and tuning over one built pipeline).
   */
  recommend(queries: readonly PipelineQuery[], k: number, overrides?: { readonly ranker?: Ranker; readonly buddies?: number }): Promise<Recommendation[][]>;
  close(): Promise<void>;
}

/**
 * The recommendation pipeline of the live system, run offline: track embeddings from the playlists, each owner's
 * taste (the decayed taste model fed a play of each track of their playlists, at one time) in a pairing index, then
 * per query user the live recommender (models/recommend): taste (their tracks as plays, the same way) → buddies
 * (KNN) → candidates (the buddies' playlists) → ranking.
 */
export async function buildPlaylistPipeline(playlists: readonly PipelinePlaylist[], options: PipelineOptions = {}): Promise<PlaylistPipeline> {
  const log = options.log ?? (() => {});
  const buddies = options.buddies ?? DEFAULT_PIPELINE_OPTIONS.buddies;
  const indexKind = options.index ?? DEFAULT_PIPELINE_OPTIONS.index;
  const threads = options.threads ?? DEFAULT_PIPELINE_OPTIONS.threads;
  const minEmbeddedTracks = options.minEmbeddedTracks ?? DEFAULT_PIPELINE_OPTIONS.minEmbeddedTracks;
  if (!Number.isInteger(buddies) || buddies < 1) throw new RangeError(`buddies must be a positive integer, got ${buddies}`);
  if (indexKind !== 'exact' && indexKind !== 'hnsw') throw new RangeError(`index must be exact or hnsw, got ${String(indexKind)}`);
  if (!Number.isInteger(minEmbeddedTracks) || minEmbeddedTracks < 0) throw new RangeError('minEmbeddedTracks must be an integer >= 0');
  const ranker = createRanker(options.ranking);
  const trainer = createEmbeddingTrainer({ log, ...options.embeddings });

  const embeddings = trainer.train(playlists.map((p) => p.tracks));
  const dims = embeddings.dims;
  const vec = (t: string) => vectorOf(embeddings, t);
  const catalog = createMemoryCatalog(
    playlists.map((p) => ({
      id: p.id,
      owner: p.owner,
      tracks: [...new Set(p.tracks)],
      followers: p.followers,
      engagement: 0,
      organic: true,
      centroid: playlistCentroid([...new Set(p.tracks)], vec, dims),
    })),
  );
  const index = indexKind === 'exact' ? createExactIndex({ dims, threads, capacity: playlists.length + 1 }) : createHnswIndex({ dims, capacity: playlists.length + 1 });
  // Each owner played the tracks of the playlists they made (each track once, all at one time).
  const taste = offlineTasteModel(dims, minEmbeddedTracks);
  const ownerTracks = new Map<string, Set<string>>();
  for (const p of playlists) {
    const s = ownerTracks.get(p.owner);
    if (s) for (const t of p.tracks) s.add(t);
    else ownerTracks.set(p.owner, new Set(p.tracks));
  }
  let skipped = 0;
  for (const [owner, tracks] of ownerTracks) {
    const v = taste.vector(historyTaste(taste, [...tracks].map((item) => ({ item })), vec));
    if (v) index.upsert(owner, v);
    else skipped++;
  }
  log(`pairing: ${index.size} users in the ${indexKind} index (${skipped} without any embedded track)`);

  const recommender = (overrides?: { readonly ranker?: Ranker; readonly buddies?: number }) =>
    createRecommender({ catalog, index: () => index }, { ranker: overrides?.ranker ?? ranker, buddies: overrides?.buddies ?? buddies });
  const users = (queries: readonly PipelineQuery[]): RankingUser[] => queries.map((q) => {
    const heard = new Set(q.tracks);
    const state = historyTaste(taste, [...heard].map((item) => ({ item })), vec);
    return { id: q.user, taste: taste.vector(state), hasSignal: taste.hasSignal(state), heard: (t: string) => heard.has(t), excluded: new Set(q.exclude) };
  });
  return {
    embeddings,
    catalog,
    index,
    ranker,
    taste,
    options: { buddies, index: indexKind, threads, minEmbeddedTracks },
    recommender,
    users,
    async recommend(queries, k, overrides) {
      return (await recommender(overrides).recommendMany(users(queries), k)).map((r) => r.recs);
    },
    close: () => index.close(),
  };
}

/** An MPD playlist as a pipeline playlist: its own owner, who likes its tracks. */
export function pipelinePlaylistFromMpd(p: {
  readonly pid: number;
  readonly tracks: readonly { readonly track_uri: string }[];
  readonly num_followers: number;
}): PipelinePlaylist {
  return { id: String(p.pid), owner: `mpd-owner:${p.pid}`, tracks: p.tracks.map((t) => t.track_uri), followers: p.num_followers };
}

/** Unique ids for playlists met in order, see {@link createPlaylistIdNamer}. */
export interface PlaylistIdNamer {
  /** The id of the next playlist whose id in the data is `id`. */
  next(id: string): string;
  /** Playlists renamed so far. */
  readonly renamed: number;
}

/**
 * Unique playlist ids for playlists met in order: the first playlist with an id keeps it (`"7"`), the n-th later one
 * becomes `"7~n"` (the next free one when `taken` already holds that). MPD pids are unique in the full dataset but not
 * across samples built from it: the shared sample holds 27 pids twice, each time two different playlists, and keyed
 * by the bare pid they would overwrite each other (and an import would fold the second's events into the first's).
 * The one rule of `buddies import` and of the offline commands (`uniquePlaylistIds`), so both give the same ids.
 */
export function createPlaylistIdNamer(taken: Iterable<string> = []): PlaylistIdNamer {
  const seen = new Map<string, number>();
  const used = new Set(taken);
  let renamed = 0;
  return {
    next(id) {
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      if (n === 1) return id;
      let k = n;
      while (used.has(`${id}~${k}`)) k++;
      const out = `${id}~${k}`;
      used.add(out);
      renamed++;
      return out;
    },
    get renamed() {
      return renamed;
    },
  };
}

/**
 * Makes playlist ids unique with {@link createPlaylistIdNamer} (the rule `buddies import` follows too): the first of
 * each id stays as it is, a later playlist with an id already seen gets `ID~2`, `ID~3`, … (and the owner
 * `mpd-owner:ID~2`, …), skipping ids that other playlists already have.
 */
export function uniquePlaylistIds(playlists: readonly PipelinePlaylist[]): { readonly playlists: PipelinePlaylist[]; readonly renamed: number } {
  const ids = createPlaylistIdNamer(playlists.map((p) => p.id));
  const out = playlists.map((p) => {
    const id = ids.next(p.id);
    return id === p.id ? p : { ...p, id, owner: p.owner === `mpd-owner:${p.id}` ? `mpd-owner:${id}` : p.owner };
  });
  return { playlists: out, renamed: ids.renamed };
}
