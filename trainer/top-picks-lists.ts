import type { Recommendation, RankingUser } from '../models/ranking/index.js';
import type { RecommendationList, UserPairing, UserTasteEmbedding } from '../streams/index.js';

/**
 * Pure pieces of the Top Picks batch (trainer/top-picks.ts): who is active, what the batch knows of each user, and
 * the daily list it publishes. Nothing here touches Kafka.
 */

/**
 * Users active within `activeMs` before `now`: those whose latest taste (compacted taste topic) or pairing
 * (compacted pairings topic) was updated in that span. Both are written by the live recommender when a user's
 * events move their taste or buddies, so an update there is a sign of recent activity. Sorted by id, so a run
 * visits users in the same order whatever the topics' partitioning.
 */
export function activeUsers(
  tastes: Iterable<readonly [string, Pick<UserTasteEmbedding, 'updatedAt'>]>,
  pairings: Iterable<readonly [string, Pick<UserPairing, 'updatedAt'>]>,
  now: number,
  activeMs: number,
): string[] {
  if (!(activeMs > 0)) throw new RangeError(`activeMs must be positive, got ${activeMs}`);
  const since = now - activeMs;
  const out = new Set<string>();
  for (const [user, t] of tastes) if (t.updatedAt >= since) out.add(user);
  for (const [user, p] of pairings) if (p.updatedAt >= since) out.add(user);
  return [...out].sort();
}

/** What the batch knows of one user, to rank for them with models/recommend. */
export interface BatchUserSources {
  /** The user's latest published taste, or undefined (an active user known only from their pairing). */
  readonly taste: UserTasteEmbedding | undefined;
  /** Version and size of the track embeddings in use (the world's); undefined when none is announced. */
  readonly embeddings: { readonly version: string; readonly dims: number } | undefined;
  /** Positive events a taste needs to be personalised (the live recommender's minSignal). */
  readonly minSignal: number;
  /** Playlists the user made (the catalogue's `madeBy`). */
  readonly owned: readonly string[];
}

/**
 * The {@link RankingUser} of a user in the batch. Its taste is the published vector when it lives in the
 * embeddings in use (a taste of older embeddings means nothing in the new space, as in the live world). Followed
 * (from the taste record) and owned playlists are excluded. The batch cannot see the live recommender's private
 * store, so it does not know the recently heard tracks or the recently shown playlists: `heard` is always false
 * and shown playlists are not excluded.
 */
export function batchRankingUser(id: string, s: BatchUserSources): RankingUser {
  const t = s.taste;
  const fits = t !== undefined && s.embeddings !== undefined && t.embeddingVersion === s.embeddings.version && t.vector.length === s.embeddings.dims;
  const taste = fits ? unitVector(t.vector) : undefined;
  return {
    id,
    taste,
    hasSignal: taste !== undefined && t!.eventCount >= s.minSignal,
    heard: () => false,
    excluded: new Set([...(t?.follows ?? []), ...s.owned]),
  };
}

/** The explanation text of one daily pick. */
export function dailyReason(r: Recommendation): string {
  const e = r.explanation;
  if (e.reason === 'buddy' && e.buddy) {
    return `today's pick: ${e.relation === 'made' ? 'made' : 'followed'} by your buddy ${e.buddy}, ${Math.round(e.tasteMatch)}% taste match`;
  }
  return "today's pick: popular right now";
}

/**
 * A "Top Picks for Today" list: the {@link RecommendationList} of the live recommender's shape, marked
 * `dailyPick: true`, `coldStart` when every item is a popular fallback.
 */
export function dailyList(user: string, recs: readonly Recommendation[], o: { readonly recommendationId: string; readonly modelVersion: string; readonly generatedAt: number }): RecommendationList {
  return {
    recommendationId: o.recommendationId,
    userId: user,
    modelVersion: o.modelVersion,
    coldStart: recs.every((r) => r.explanation.reason === 'popular'),
    generatedAt: o.generatedAt,
    dailyPick: true,
    items: recs.map((r, i) => ({
      playlistId: r.playlistId,
      rank: i + 1,
      score: r.score,
      explanation: {
        buddyId: r.explanation.buddy ?? null,
        tasteMatch: Math.max(0, Math.min(1, r.explanation.tasteMatch / 100)),
        reason: dailyReason(r),
      },
    })),
  };
}

function unitVector(v: readonly number[]): Float32Array | undefined {
  const out = Float32Array.from(v);
  let n = 0;
  for (const x of out) n += x * x;
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}
