import { randomUUID } from 'node:crypto';
import { vectorOf } from '../models/embeddings/index.js';
import type { PlaylistPipeline } from '../models/pipeline/index.js';
import type { Recommendation } from '../models/ranking/index.js';
import { createTasteModel, type TasteSignal, type TasteModel, type TasteModelOptions, type TasteState } from '../models/taste/index.js';
import type { FeedbackEvent, ListenEvent, RecommendationList, TaskContext, TaskProcessor } from '../streams/index.js';

/** How the live recommender chooses: the buddies pipeline, or a baseline to compare online metrics with. */
export type RecommendStrategy = 'buddies' | 'popular' | 'random';

/** Defaults of {@link createLiveRecommender} (and of `buddies process recommender`). */
export const DEFAULT_RECOMMENDER_OPTIONS = { k: 10, refreshEvery: 5, strategy: 'buddies' } as const;

export const RECOMMEND_STRATEGIES: readonly RecommendStrategy[] = ['buddies', 'popular', 'random'];

export interface RecommenderOptions {
  /** Embeddings, playlist catalogue, owners' tastes in the pairing index, ranker: built from the playlists known at start. */
  readonly pipeline: PlaylistPipeline;
  readonly strategy?: RecommendStrategy;
  /** Playlists per list (default 10). */
  readonly k?: number;
  /** Buddies per user (default: the pipeline's). */
  readonly buddies?: number;
  /** Listens between two refreshes of a user's list (default 5); follows and dismissals refresh at once. */
  readonly refreshEvery?: number;
  /** A play counts as played through from this share of the track (default 0.5) or 30 s; else as a skip. */
  readonly playedThrough?: number;
  /** The incremental taste model (decay half-life, weights per feedback kind, recent ring, cold-start signal). */
  readonly taste?: Omit<TasteModelOptions, 'dims'>;
  /** Playlists remembered per user as shown, followed or dismissed, never recommended again (default 500). */
  readonly excludedCapacity?: number;
  readonly modelVersion?: string;
  /**
   * Events older than this (epoch ms) only update the taste; they trigger no list. Default: an hour before
   * the recommender was created, so a backlog (an import, a long stop) is folded in without a burst of
   * stale lists.
   */
  readonly listsFrom?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Per-user state, owned by one recommender instance (never module-level); bounded whatever the history. */
interface UserState {
  taste: TasteState;
  /** Insertion-ordered, trimmed to `excludedCapacity` oldest first. */
  readonly excluded: Set<string>;
  sinceRefresh: number;
  lists: number;
}

export interface LiveRecommender {
  /** Processor for the listens topic: folds plays and skips into the user's taste, refreshes the list every N listens. */
  readonly listens: TaskProcessor<'listens'>;
  /** Processor for the feedback topic: likes, follows, skips and dismissals move the taste; follows and dismissals refresh. */
  readonly feedback: TaskProcessor<'feedback'>;
  readonly stats: { readonly users: number; readonly lists: number };
}

/**
 * The live side of the pipeline. Each user's taste is the incremental, decayed taste model of models/taste
 * (the same code the offline commands use) over the track embeddings; their buddies are its nearest owners in
 * the pairing index; candidates are the buddies' playlists, ranked by the ranker. Each refresh writes, in the
 * transaction of the input offsets, the user's taste embedding, their buddies and the recommendation list.
 */
export function createLiveRecommender(opts: RecommenderOptions): LiveRecommender {
  const { pipeline } = opts;
  const k = opts.k ?? DEFAULT_RECOMMENDER_OPTIONS.k;
  const nBuddies = opts.buddies ?? pipeline.options.buddies;
  const every = opts.refreshEvery ?? DEFAULT_RECOMMENDER_OPTIONS.refreshEvery;
  const through = opts.playedThrough ?? 0.5;
  const excludedCapacity = opts.excludedCapacity ?? 500;
  const strategy = opts.strategy ?? DEFAULT_RECOMMENDER_OPTIONS.strategy;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const listsFrom = opts.listsFrom ?? now() - 3_600_000;
  const embeddingVersion = `${pipeline.embeddings.method}-${pipeline.embeddings.dims}`;
  const modelVersion = opts.modelVersion ?? `${strategy}@${embeddingVersion}`;
  if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  if (!Number.isInteger(every) || every < 1) throw new RangeError('refreshEvery must be a positive integer');
  if (!Number.isInteger(nBuddies) || nBuddies < 1) throw new RangeError('buddies must be a positive integer');
  const model: TasteModel = createTasteModel({ ...opts.taste, dims: pipeline.embeddings.dims });
  const users = new Map<string, UserState>();
  let lists = 0;
  let allPlaylists: readonly string[] | undefined; // baselines only, listed on first use
  const trackVector = (id: string) => vectorOf(pipeline.embeddings, id);
  const playlistVector = (id: string) => pipeline.catalog.get(id)?.centroid;

  const exclude = (s: UserState, playlistId: string) => {
    s.excluded.delete(playlistId);
    s.excluded.add(playlistId);
    for (const old of s.excluded) {
      if (s.excluded.size <= excludedCapacity) break;
      s.excluded.delete(old);
    }
  };

  const stateOf = (user: string, at: number): UserState => {
    let s = users.get(user);
    if (!s) {
      // an owner likes the tracks of their own playlists: that is their taste until they listen live
      let taste = model.empty();
      const made = pipeline.catalog.madeBy(user);
      for (const id of made) {
        for (const t of pipeline.catalog.get(id)?.tracks ?? []) taste = model.update(taste, { kind: 'play', itemId: t, vector: trackVector(t), at });
      }
      s = { taste, excluded: new Set(), sinceRefresh: 0, lists: 0 };
      for (const id of [...made, ...pipeline.catalog.followedBy(user)]) exclude(s, id);
      users.set(user, s);
    }
    return s;
  };

  const fold = (s: UserState, kind: TasteSignal, itemId: string, vector: Float32Array | undefined, at: number) => {
    s.taste = model.update(s.taste, { kind, itemId, vector, at });
  };

  async function choose(user: string, s: UserState): Promise<{ recs: Recommendation[]; buddies: { id: string; score: number }[]; coldStart: boolean; taste: Float32Array | undefined }> {
    const taste = model.vector(s.taste);
    if (strategy === 'buddies') {
      const buddies = taste ? pipeline.index.query(taste, nBuddies, { exclude: new Set([user]) }) : [];
      const heard = new Set(model.recentItems(s.taste, ['play', 'like']));
      const recs = pipeline.ranker.rank({
        user: { id: user, taste, hasSignal: model.hasSignal(s.taste), heard: (t) => heard.has(t), excluded: s.excluded },
        buddies, catalog: pipeline.catalog, k,
      });
      return { recs, buddies, taste, coldStart: recs.every((r) => r.explanation.reason === 'popular') };
    }
    allPlaylists ??= pipeline.catalog.popular(Number.MAX_SAFE_INTEGER);
    const pool = allPlaylists.filter((id) => !s.excluded.has(id));
    const picked = strategy === 'popular'
      ? pool.slice(0, k)
      : Array.from({ length: Math.min(k, pool.length) }, () => pool.splice(Math.floor(random() * pool.length), 1)[0] as string);
    return {
      recs: picked.map((playlistId, i) => ({ playlistId, score: 1 / (i + 1), components: { bpr: 0, familiarity: 0, novelty: 0, buddy: 0, support: 0, popularity: 0 }, explanation: { reason: 'popular', tasteMatch: 0 } })),
      buddies: [], taste, coldStart: true,
    };
  }

  async function refresh(user: string, s: UserState, ctx: TaskContext): Promise<void> {
    s.sinceRefresh = 0;
    const at = now();
    const { recs, buddies, coldStart, taste } = await choose(user, s);
    if (taste) {
      ctx.forward('tasteEmbeddings', { key: user, value: {
        userId: user, vector: Array.from(taste), mass: s.taste.mass, eventCount: s.taste.positives, embeddingVersion, updatedAt: at, follows: [],
      } });
    }
    if (buddies.length > 0) {
      ctx.forward('pairings', { key: user, value: { userId: user, buddies: buddies.map((b) => ({ userId: b.id, score: b.score })), modelVersion: `knn-${pipeline.index.kind}@${embeddingVersion}`, updatedAt: at } });
    }
    if (recs.length === 0) return;
    const list: RecommendationList = {
      recommendationId: randomUUID(), userId: user, modelVersion, coldStart, generatedAt: at,
      items: recs.map((r, i) => ({
        playlistId: r.playlistId, rank: i + 1, score: r.score,
        explanation: {
          buddyId: r.explanation.buddy ?? null,
          tasteMatch: Math.max(0, Math.min(1, r.explanation.tasteMatch / 100)),
          reason: r.explanation.reason === 'buddy' && r.explanation.buddy
            ? `${r.explanation.relation === 'made' ? 'made' : 'followed'} by your buddy ${r.explanation.buddy}, ${Math.round(r.explanation.tasteMatch)}% taste match`
            : strategy === 'random' ? 'random pick' : 'popular right now',
        },
      })),
    };
    // shown playlists are not shown again (a follow or dismissal would exclude them anyway)
    for (const it of list.items) exclude(s, it.playlistId);
    s.lists++;
    lists++;
    ctx.forward('recommendations', { key: user, value: list });
  }

  return {
    stats: { get users() { return users.size; }, get lists() { return lists; } },
    listens: {
      async process({ value: e }: { value: ListenEvent }, ctx) {
        const s = stateOf(e.userId, e.eventTime);
        const playedThrough = e.msPlayed >= 30_000 || e.msPlayed >= through * e.trackDurationMs;
        fold(s, playedThrough ? 'play' : 'skip', e.trackId, trackVector(e.trackId), e.eventTime);
        if (e.eventTime < listsFrom) return;
        s.sinceRefresh++;
        if (s.sinceRefresh >= every || s.lists === 0) await refresh(e.userId, s, ctx);
      },
    },
    feedback: {
      async process({ value: e }: { value: FeedbackEvent }, ctx) {
        const s = stateOf(e.userId, e.eventTime);
        switch (e.kind) {
          case 'LIKE_TRACK':
            if (e.trackId) fold(s, 'like', e.trackId, trackVector(e.trackId), e.eventTime);
            return;
          case 'FOLLOW_PLAYLIST':
          case 'DISMISS':
            if (!e.playlistId) return;
            fold(s, e.kind === 'DISMISS' ? 'dismiss' : 'follow', e.playlistId, playlistVector(e.playlistId), e.eventTime);
            exclude(s, e.playlistId);
            if (e.eventTime >= listsFrom) await refresh(e.userId, s, ctx);
            return;
          default:
            // skips arrive as short listens too; impressions, clicks and unfollows do not move the taste
            return;
        }
      },
    },
  };
}
