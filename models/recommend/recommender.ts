import type { Neighbor, PairingIndex } from '../pairing/index.js';
import { createRanker, type PlaylistCatalog, type Ranker, type RankingUser, type Recommendation } from '../ranking/index.js';
import { popularPlaylists, randomPlaylists } from './baselines.js';

/** How lists are chosen: the buddies pipeline, or a baseline (online metrics and offline protocols compare against them). */
export type RecommendStrategy = 'buddies' | 'popular' | 'random';

export const RECOMMEND_STRATEGIES: readonly RecommendStrategy[] = ['buddies', 'popular', 'random'];

/** A BPR model's scores for a user's candidate playlists, or undefined when the user is unknown to it. */
export interface BprScorer {
  score(user: string, playlists: readonly string[]): Float32Array | undefined;
}

/**
 * What the recommender reads. `index` and `bpr` are functions because the live ones are replaced while it runs
 * (a new pairing index with new track embeddings, a newly announced BPR model); offline they return fixed values.
 */
export interface RecommenderSources {
  readonly catalog: PlaylistCatalog;
  /** Users' tastes (listeners and owners), or undefined: then nobody has buddies and lists are popular. */
  index(): PairingIndex | undefined;
  /** The BPR term of the ranker, when a model is in use. */
  bpr?(): BprScorer | undefined;
}

export interface RecommendOptions {
  /** Default 'buddies'. */
  readonly strategy?: RecommendStrategy;
  /** Default `createRanker()`. */
  readonly ranker?: Ranker;
  /** Buddies per user: K of the taste KNN. */
  readonly buddies: number;
  /** Uniform in [0, 1), for the 'random' strategy (default Math.random; seed it offline). */
  readonly random?: () => number;
}

/** A list and the buddies it came from (empty for the baselines and for users without a taste). */
export interface RecommendResult {
  readonly recs: Recommendation[];
  readonly buddies: Neighbor[];
}

/**
 * The one recommender of the live processor and the offline commands: taste → buddies (pairing index) →
 * candidates → ranking (BPR when a scorer is in use) → explanation, or a baseline. The caller supplies the user's
 * taste (the decayed taste model of models/taste: live from their events, offline from `historyTaste`), what they
 * have heard and what never to show them.
 */
export interface Recommender {
  readonly strategy: RecommendStrategy;
  readonly ranker: Ranker;
  /** One user, synchronously: the live path. */
  recommend(user: RankingUser, k: number): RecommendResult;
  /**
   * Many users, their buddies found in one batch (the exact index spreads it over worker threads): the offline path.
   * The same lists as `recommend` for each user in turn.
   */
  recommendMany(users: readonly RankingUser[], k: number): Promise<RecommendResult[]>;
}

export function createRecommender(sources: RecommenderSources, options: RecommendOptions): Recommender {
  const strategy = options.strategy ?? 'buddies';
  const ranker = options.ranker ?? createRanker();
  const n = options.buddies;
  const random = options.random ?? Math.random;
  if (!RECOMMEND_STRATEGIES.includes(strategy)) throw new RangeError(`strategy must be one of ${RECOMMEND_STRATEGIES.join(', ')}, got ${String(strategy)}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`buddies must be a positive integer, got ${n}`);
  const { catalog } = sources;

  const rank = (user: RankingUser, buddies: Neighbor[], k: number): RecommendResult => {
    const bpr = sources.bpr?.();
    const recs = ranker.rank({ user, buddies, catalog, k, ...(bpr ? { bpr: (u: string, p: readonly string[]) => bpr.score(u, p) } : {}) });
    return { recs, buddies };
  };
  const baseline = (user: RankingUser, k: number): RecommendResult => ({
    recs: strategy === 'popular' ? popularPlaylists(catalog, user, k, ranker.options.engagementWeight) : randomPlaylists(catalog, user, k, random),
    buddies: [],
  });

  return {
    strategy,
    ranker,
    recommend(user, k) {
      if (strategy !== 'buddies') return baseline(user, k);
      return rank(user, findBuddies(sources.index(), user, n), k);
    },
    async recommendMany(users, k) {
      if (strategy !== 'buddies') return users.map((u) => baseline(u, k));
      const buddies = await findBuddiesMany(sources.index(), users, n);
      return users.map((u, i) => rank(u, buddies[i]!, k));
    },
  };
}

/** A user's buddies: the `n` nearest tastes in the index, the user left out; none without a taste or an index. */
export function findBuddies(index: PairingIndex | undefined, user: Pick<RankingUser, 'id' | 'taste'>, n: number): Neighbor[] {
  return user.taste && index ? index.query(user.taste, n, { exclude: new Set([user.id]) }) : [];
}

/** {@link findBuddies} for many users in one batch query (same answers). */
export async function findBuddiesMany(index: PairingIndex | undefined, users: readonly Pick<RankingUser, 'id' | 'taste'>[], n: number): Promise<Neighbor[][]> {
  const out: Neighbor[][] = users.map(() => []);
  if (!index) return out;
  const rows = users.flatMap((u, i) => (u.taste ? [i] : []));
  if (rows.length === 0) return out;
  const qs = new Float32Array(rows.length * index.dims);
  rows.forEach((i, r) => qs.set(users[i]!.taste!, r * index.dims));
  const knn = await index.queryMany(qs, n, rows.map((i) => users[i]!.id));
  rows.forEach((i, r) => (out[i] = knn[r]!));
  return out;
}
