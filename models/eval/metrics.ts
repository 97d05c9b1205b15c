/**
 * Ranking metrics over full rankings. Pure functions over item ids (numbers or strings); `ranked` is a
 * recommendation list, best first; `relevant` is the held-out set. Shared by the evaluation protocols.
 */

type Id = number | string;

/** Hits in the top k: |ranked[0..k) ∩ relevant|. */
export function hitsAtK(ranked: ArrayLike<Id>, relevant: ReadonlySet<Id>, k: number): number {
  let h = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r]!)) h++;
  return h;
}

/** Recall@k = hits / |relevant| (0 when nothing is relevant). */
export function recallAtK(ranked: ArrayLike<Id>, relevant: ReadonlySet<Id>, k: number): number {
  return relevant.size === 0 ? 0 : hitsAtK(ranked, relevant, k) / relevant.size;
}

/** Precision@k = hits / k. */
export function precisionAtK(ranked: ArrayLike<Id>, relevant: ReadonlySet<Id>, k: number): number {
  return k <= 0 ? 0 : hitsAtK(ranked, relevant, k) / k;
}

/**
 * NDCG@k with binary relevance: DCG = Σ_{r<k, ranked[r] ∈ relevant} 1/log2(r+2), divided by the ideal DCG of
 * min(k, |relevant|) hits at the top (0 when nothing is relevant).
 */
export function ndcgAtK(ranked: ArrayLike<Id>, relevant: ReadonlySet<Id>, k: number): number {
  if (relevant.size === 0) return 0;
  let dcg = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r]!)) dcg += 1 / Math.log2(r + 2);
  let idcg = 0;
  const m = Math.min(k, relevant.size);
  for (let r = 0; r < m; r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

/** Catalogue coverage: distinct items in the top k of all lists / catalogue size. */
export function coverageAtK(lists: readonly ArrayLike<Id>[], catalogSize: number, k: number): number {
  if (catalogSize <= 0) return 0;
  const seen = new Set<Id>();
  for (const l of lists) for (let r = 0; r < Math.min(k, l.length); r++) seen.add(l[r]!);
  return seen.size / catalogSize;
}

/**
 * Novelty: mean self-information −log2(p(i)) of the recommended items in the top k, where p(i) = (users who have
 * item i in training) / users. Items nobody has count as 1 user (the most novel finite value).
 */
export function noveltyAtK(lists: readonly ArrayLike<Id>[], popularity: (item: Id) => number, numUsers: number, k: number): number {
  let sum = 0;
  let n = 0;
  for (const l of lists) {
    for (let r = 0; r < Math.min(k, l.length); r++) {
      sum += -Math.log2(Math.max(1, popularity(l[r]!)) / numUsers);
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** Mean of `f` over the lists that have a non-empty relevant set. */
export function meanOver(lists: readonly ArrayLike<Id>[], relevant: readonly ReadonlySet<Id>[], f: (ranked: ArrayLike<Id>, rel: ReadonlySet<Id>) => number): number {
  let sum = 0;
  let n = 0;
  lists.forEach((l, j) => {
    const rel = relevant[j]!;
    if (rel.size === 0) return;
    sum += f(l, rel);
    n++;
  });
  return n === 0 ? 0 : sum / n;
}
