import { createEmbeddingTrainer, vectorOf, type EmbeddingTrainerOptions, type ItemEmbeddings } from '../embeddings/index.js';
import { createExactIndex, createHnswIndex, type Neighbor } from '../pairing/index.js';
import { COUNT_WEIGHTINGS, countWeight, findBuddiesMany, historyTaste, offlineTasteModel, type CountWeighting } from '../recommend/index.js';
import { DEFAULT_PIPELINE_OPTIONS, type PairingIndexKind } from './pipeline.js';

export interface NeighborsOptions {
  readonly embeddings?: EmbeddingTrainerOptions;
  readonly k: number;
  /** Pairing index (default exact). */
  readonly index?: PairingIndexKind;
  /** Worker threads for exact batch KNN (default 2). */
  readonly threads?: number;
  /** How an interaction's weight (play count) weighs its item in the taste (default log1p). */
  readonly weighting?: CountWeighting;
  readonly log?: (msg: string) => void;
}

export interface NeighborsResult {
  readonly embeddings: ItemEmbeddings;
  /** Users in first-seen order, each with up to k neighbours (empty when no item of theirs has an embedding). */
  readonly neighbors: ReadonlyMap<string, readonly Neighbor[]>;
}

/**
 * Taste buddies from user–item interactions, with the taste and pairing of the live system (models/recommend):
 * item embeddings from co-occurrence within users' histories; each user's taste = the decayed taste model fed a
 * play of each of their items at one time, weighted by its count (log(1 + count) by default), which is the unit
 * weighted mean of the items' embeddings; then cosine KNN over tastes (the user themself left out).
 */
export async function computeNeighbors(
  interactions: Iterable<{ readonly user: string; readonly item: string; readonly weight: number }> | AsyncIterable<{ readonly user: string; readonly item: string; readonly weight: number }>,
  options: NeighborsOptions,
): Promise<NeighborsResult> {
  const log = options.log ?? (() => {});
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const weighting = options.weighting ?? 'log1p';
  if (!COUNT_WEIGHTINGS.includes(weighting)) throw new RangeError(`unknown weighting '${weighting}'`);
  const trainer = createEmbeddingTrainer({ log, ...options.embeddings });
  const history = new Map<string, Map<string, number>>();
  for await (const r of interactions) {
    let h = history.get(r.user);
    if (!h) history.set(r.user, (h = new Map()));
    h.set(r.item, (h.get(r.item) ?? 0) + r.weight);
  }
  log(`neighbors: ${history.size} users`);
  const embeddings = trainer.train([...history.values()].map((h) => [...h.keys()]));
  const dims = embeddings.dims;
  const users = [...history.keys()];
  const model = offlineTasteModel(dims);
  const tastes = users.map((u) => {
    const h = [...history.get(u)!].map(([item, count]) => ({ item, weight: countWeight(count, weighting) }));
    return model.vector(historyTaste(model, h, (item) => vectorOf(embeddings, item)));
  });
  const index = (options.index ?? DEFAULT_PIPELINE_OPTIONS.index) === 'exact'
    ? createExactIndex({ dims, threads: options.threads ?? DEFAULT_PIPELINE_OPTIONS.threads, capacity: users.length + 1 })
    : createHnswIndex({ dims, capacity: users.length + 1 });
  let paired = 0;
  users.forEach((u, i) => {
    if (!tastes[i]) return;
    index.upsert(u, tastes[i]);
    paired++;
  });
  log(`neighbors: ${paired} users with a taste vector, ${users.length - paired} without`);
  const t0 = Date.now();
  const knn = await findBuddiesMany(index, users.map((id, i) => ({ id, taste: tastes[i] })), k);
  log(`neighbors: KNN (${options.index ?? DEFAULT_PIPELINE_OPTIONS.index}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  await index.close();
  return { embeddings, neighbors: new Map(users.map((u, i) => [u, knn[i]!])) };
}
