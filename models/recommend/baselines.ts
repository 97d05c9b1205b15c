import { popularFallback, type PlaylistCatalog, type RankingUser, type Recommendation } from '../ranking/index.js';

/**
 * The two baselines of the project, once: `popular` and `random`. The generic pickers below work on any ranked
 * list or index range (playlists of the live catalogue and of the MPD corpus, artists of an interactions
 * matrix); the playlist versions are what the live strategies 'popular' / 'random' and protocol (a) run.
 */

/** The first `k` of `ranked` (most popular first) that `skip` does not reject, in order. */
export function popularPicks<T>(ranked: Iterable<T>, k: number, skip: (item: T) => boolean): T[] {
  const out: T[] = [];
  if (k <= 0) return out;
  for (const x of ranked) {
    if (skip(x)) continue;
    out.push(x);
    if (out.length === k) break;
  }
  return out;
}

/**
 * Up to `k` distinct indices of [0, n) drawn uniformly without replacement from those `skip` does not reject, in draw
 * order: a lazy Fisher–Yates shuffle (displaced positions in a map), so a call costs O(k + skipped draws) whatever n,
 * and it ends after at most n draws when most indices are skipped. `random` is uniform in [0, 1) (a seeded
 * `createRng(seed).next` offline, `Math.random` live).
 */
export function randomPicks(n: number, k: number, skip: (index: number) => boolean, random: () => number): number[] {
  const out: number[] = [];
  const moved = new Map<number, number>();
  for (let i = 0; i < n && out.length < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const picked = moved.get(j) ?? j;
    if (j !== i) moved.set(j, moved.get(i) ?? i);
    moved.delete(i);
    if (!skip(picked)) out.push(picked);
  }
  return out;
}

/** Who a playlist baseline serves: the playlists never to show them, and their taste for the explanation's match. */
export type BaselineUser = Pick<RankingUser, 'id' | 'taste' | 'excluded'>;

/**
 * Popular playlists: organic, not the user's own nor excluded, by log(1+followers) + w·log(1+recent engagement);
 * explanation `reason: 'popular'`. The same function is the ranker's cold start (`popularFallback`).
 */
export function popularPlaylists(catalog: PlaylistCatalog, user: BaselineUser, k: number, engagementWeight = 1): Recommendation[] {
  return popularFallback({ user: { ...user, hasSignal: false, heard: () => false }, buddies: [], catalog, k }, k, new Set(), engagementWeight);
}

/**
 * Uniformly random playlists among the organic ones that are not the user's own nor excluded. Scored 1/rank,
 * explanation `reason: 'popular'` (not personalised; the live list says 'random pick') with the taste match.
 */
export function randomPlaylists(catalog: PlaylistCatalog, user: BaselineUser, k: number, random: () => number): Recommendation[] {
  const pool = catalog.popular(Number.MAX_SAFE_INTEGER);
  const eligible = (id: string) => {
    if (user.excluded.has(id)) return false;
    const p = catalog.get(id);
    return p !== undefined && p.organic && p.owner !== user.id;
  };
  return randomPicks(pool.length, k, (i) => !eligible(pool[i]!), random).map((i, rank) => {
    const p = catalog.get(pool[i]!)!;
    return {
      playlistId: p.id,
      score: 1 / (rank + 1),
      components: { bpr: 0, familiarity: 0, novelty: 1, buddy: 0, support: 0, cooccurrence: 0, popularity: 0 },
      explanation: { reason: 'popular', tasteMatch: tasteMatch(user.taste, p.centroid) },
    };
  });
}

/** Cosine of a unit taste and a centroid as a percentage 0–100 (0 without either), as the ranker's explanations give it. */
function tasteMatch(taste: Float32Array | undefined, centroid: Float32Array | undefined): number {
  if (!taste || !centroid) return 0;
  let d = 0;
  let n = 0;
  for (let i = 0; i < centroid.length; i++) {
    d += taste[i]! * centroid[i]!;
    n += centroid[i]! * centroid[i]!;
  }
  return n > 0 ? Math.round(Math.max(0, d / Math.sqrt(n)) * 100) : 0;
}
