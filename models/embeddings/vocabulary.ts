/** Item ids (e.g. track URIs) mapped to dense indices, with their basket counts. */
export interface Vocabulary {
  readonly ids: readonly string[];
  readonly counts: Int32Array;
  indexOf(id: string): number | undefined;
}

/** Baskets (playlists, user histories) as CSR over vocabulary indices, each deduplicated. */
export interface Baskets {
  readonly offsets: Int32Array;
  readonly items: Int32Array;
  /** Number of baskets. */
  readonly length: number;
}

/**
 * Builds the vocabulary of items that occur in at least `minCount` baskets (an item counts once per
 * basket) and encodes the baskets over it; items below the threshold are dropped from the baskets.
 */
export function encodeBaskets(
  baskets: Iterable<readonly string[]>,
  minCount = 1,
): { vocabulary: Vocabulary; baskets: Baskets } {
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be an integer >= 1, got ${minCount}`);
  const counts = new Map<string, number>();
  const lists: string[][] = [];
  for (const b of baskets) {
    const uniq = [...new Set(b)];
    lists.push(uniq);
    for (const id of uniq) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const ids: string[] = [];
  const index = new Map<string, number>();
  for (const [id, c] of counts) {
    if (c >= minCount) {
      index.set(id, ids.length);
      ids.push(id);
    }
  }
  const cnt = new Int32Array(ids.length);
  ids.forEach((id, i) => (cnt[i] = counts.get(id)!));
  const offsets = new Int32Array(lists.length + 1);
  const items: number[] = [];
  lists.forEach((l, i) => {
    for (const id of l) {
      const k = index.get(id);
      if (k !== undefined) items.push(k);
    }
    offsets[i + 1] = items.length;
  });
  return {
    vocabulary: { ids, counts: cnt, indexOf: (id) => index.get(id) },
    baskets: { offsets, items: Int32Array.from(items), length: lists.length },
  };
}

export function vocabularyFromIds(ids: readonly string[], counts?: Int32Array): Vocabulary {
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  return { ids, counts: counts ?? new Int32Array(ids.length), indexOf: (id) => index.get(id) };
}
