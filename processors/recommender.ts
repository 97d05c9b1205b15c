import { randomUUID } from 'node:crypto';
import type { PlaylistWorld } from '../models/pipeline/index.js';
import type { Recommendation } from '../models/ranking/index.js';
import type { FeedbackEvent, ListenEvent, Processor, ProcessorContext, RecommendationList } from '../streams/index.js';

/** How the live recommender chooses: the buddies pipeline, or a baseline to compare online metrics with. */
export type RecommendStrategy = 'buddies' | 'popular' | 'random';

export interface RecommenderOptions {
  /** Embeddings, playlist catalogue and owners' tastes, built from the playlists known at start. */
  readonly world: PlaylistWorld;
  readonly strategy?: RecommendStrategy;
  /** Playlists per list (default 10). */
  readonly k?: number;
  /** Listens between two refreshes of a user's list (default 5); follows and dismissals refresh at once. */
  readonly refreshEvery?: number;
  /** Recent tracks kept per user (default 200): memory per user is bounded. */
  readonly historySize?: number;
  /** A play counts as liked from this share of the track (default 0.5) or 30 s. */
  readonly playedThrough?: number;
  readonly modelVersion?: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Per-user state, owned by one recommender instance (never module-level). */
interface UserState {
  readonly recent: string[];
  readonly excluded: Set<string>;
  sinceRefresh: number;
  lists: number;
}

export interface LiveRecommender {
  /** Processor for the listens topic: updates the user's history, refreshes the list every N listens. */
  readonly listens: Processor<'listens'>;
  /** Processor for the feedback topic: follows, dismissals and likes change what is recommended. */
  readonly feedback: Processor<'feedback'>;
  readonly stats: { readonly users: number; readonly lists: number };
}

/**
 * The live side of the pipeline: each user's recent listening is their taste query; their buddies (KNN
 * over the owners' tastes) bring candidates; the ranker orders them. Lists go to the recommendations topic
 * in the same transaction as the input offsets.
 */
export function createLiveRecommender(opts: RecommenderOptions): LiveRecommender {
  const k = opts.k ?? 10;
  const every = opts.refreshEvery ?? 5;
  const historySize = opts.historySize ?? 200;
  const through = opts.playedThrough ?? 0.5;
  const strategy = opts.strategy ?? 'buddies';
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const modelVersion = opts.modelVersion ?? `${strategy}@${opts.world.embeddings.method}-${opts.world.embeddings.dims}`;
  if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  if (!Number.isInteger(every) || every < 1) throw new RangeError('refreshEvery must be a positive integer');
  const users = new Map<string, UserState>();
  let lists = 0;
  const allPlaylists = opts.world.catalog.popular(Number.MAX_SAFE_INTEGER);

  const stateOf = (user: string): UserState => {
    let s = users.get(user);
    if (!s) {
      const made = opts.world.catalog.madeBy(user);
      // an owner's own playlists are what they like: their history until they listen live
      const recent = made.flatMap((id) => opts.world.catalog.get(id)?.tracks ?? []).slice(-historySize);
      s = { recent, excluded: new Set([...made, ...opts.world.catalog.followedBy(user)]), sinceRefresh: 0, lists: 0 };
      users.set(user, s);
    }
    return s;
  };

  async function choose(user: string, s: UserState): Promise<{ recs: Recommendation[]; coldStart: boolean }> {
    if (strategy === 'buddies') {
      const [recs = []] = await opts.world.recommend([{ user, tracks: s.recent, exclude: [...s.excluded] }], k);
      return { recs, coldStart: recs.every((r) => r.explanation.reason === 'popular') };
    }
    const pool = allPlaylists.filter((id) => !s.excluded.has(id));
    const picked = strategy === 'popular'
      ? pool.slice(0, k)
      : Array.from({ length: Math.min(k, pool.length) }, () => pool.splice(Math.floor(random() * pool.length), 1)[0] as string);
    return {
      recs: picked.map((playlistId, i) => ({ playlistId, score: 1 / (i + 1), components: { bpr: 0, familiarity: 0, novelty: 0, buddy: 0, support: 0, popularity: 0 }, explanation: { reason: 'popular', tasteMatch: 0 } })),
      coldStart: true,
    };
  }

  async function refresh(user: string, s: UserState, ctx: ProcessorContext): Promise<void> {
    s.sinceRefresh = 0;
    const { recs, coldStart } = await choose(user, s);
    if (recs.length === 0) return;
    const list: RecommendationList = {
      recommendationId: randomUUID(), userId: user, modelVersion, coldStart, generatedAt: now(),
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
    // shown playlists are not shown again unless the user reacts (a follow or dismissal excludes them anyway)
    for (const it of list.items) s.excluded.add(it.playlistId);
    s.lists++;
    lists++;
    ctx.forward('recommendations', { key: user, value: list });
  }

  const remember = (s: UserState, track: string) => {
    s.recent.push(track);
    if (s.recent.length > historySize) s.recent.splice(0, s.recent.length - historySize);
  };

  return {
    stats: { get users() { return users.size; }, get lists() { return lists; } },
    listens: {
      async process({ value: e }: { value: ListenEvent }, ctx) {
        const s = stateOf(e.userId);
        if (e.msPlayed >= 30_000 || e.msPlayed >= through * e.trackDurationMs) remember(s, e.trackId);
        s.sinceRefresh++;
        if (s.sinceRefresh >= every || s.lists === 0) await refresh(e.userId, s, ctx);
      },
    },
    feedback: {
      async process({ value: e }: { value: FeedbackEvent }, ctx) {
        const s = stateOf(e.userId);
        switch (e.kind) {
          case 'LIKE_TRACK':
            if (e.trackId) remember(s, e.trackId);
            return;
          case 'FOLLOW_PLAYLIST':
          case 'DISMISS':
            if (e.playlistId) s.excluded.add(e.playlistId);
            await refresh(e.userId, s, ctx);
            return;
          default:
            return; // impressions, clicks, skips and unfollows do not change the list by themselves
        }
      },
    },
  };
}
