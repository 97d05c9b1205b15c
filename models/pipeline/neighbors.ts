import { createEmbeddingTrainer, vectorOf, type EmbeddingTrainerOptions, type ItemEmbeddings } from '../embeddings/index.js';
import { createExactIndex, createHnswIndex, type Neighbor } from '../pairing/index.js';
import { meanTaste } from '../taste/index.js';
import { DEFAULT_PIPELINE_OPTIONS, type PairingIndexKind } from './pipeline.js';

export interface NeighborsOptions {
  readonly embeddings?: EmbeddingTrainerOptions;
  readonly k: number;
  /** Pairing index (default exact). */
  readonly index?: PairingIndexKind;
  /** Worker threads for exact batch KNN (default 2). */
  readonly threads?: number;
  /** How an interaction's weight (play count) weighs its item in the taste mean (default log1p). */
  readonly weighting?: 'log1p' | 'linear' | 'binary';
  readonly log?: (msg: string) => void;
}

export interface NeighborsResult {
  readonly embeddings: ItemEmbeddings;
  /** Users in first-seen order, each with up to k neighbours (empty when no item of theirs has an embedding). */
  readonly neighbors: ReadonlyMap<string, readonly Neighbor[]>;
}

/**
 * Taste buddies from user–item interactions, with the pairing model of the live system: item
 * embeddings from co-occurrence within users' histories, each user's taste = weighted mean of their
 * items' embeddings, then cosine KNN over tastes (the user themself left out).
 */
export async function computeNeighbors(
  interactions: Iterable<{ readonly user: string; readonly item: string; readonly weight: number }> | AsyncIterable<{ readonly user: string; readonly item: string; readonly weight: number }>,
  options: NeighborsOptions,
): Promise<NeighborsResult> {
  const log = options.log ?? (() => {});
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const weighting = options.weighting ?? 'log1p';
  if (!['log1p', 'linear', 'binary'].includes(weighting)) throw new RangeError(`unknown weighting '${weighting}'`);
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
  const w = (x: number) => (weighting === 'binary' ? 1 : weighting === 'linear' ? Math.max(0, x) : Math.log1p(Math.max(0, x)));
  const users = [...history.keys()];
  const tastes = users.map((u) => {
    const h = [...history.get(u)!];
    return meanTaste(h.map(([item]) => vectorOf(embeddings, item)), dims, h.map(([, x]) => w(x)));
  });
  const index = (options.index ?? DEFAULT_PIPELINE_OPTIONS.index) === 'exact'
    ? createExactIndex({ dims, threads: options.threads ?? DEFAULT_PIPELINE_OPTIONS.threads, capacity: users.length + 1 })
    : createHnswIndex({ dims, capacity: users.length + 1 });
  const withTaste = users.flatMap((u, i) => (tastes[i] ? [i] : []));
  for (const i of withTaste) index.upsert(users[i]!, tastes[i]!);
  log(`neighbors: ${withTaste.length} users with a taste vector, ${users.length - withTaste.length} without`);
  const qs = new Float32Array(withTaste.length * dims);
  withTaste.forEach((i, row) => qs.set(tastes[i]!, row * dims));
  const t0 = Date.now();
  const knn = await index.queryMany(qs, k, withTaste.map((i) => users[i]!));
  log(`neighbors: KNN (${options.index ?? DEFAULT_PIPELINE_OPTIONS.index}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  await index.close();
  const byUser = new Map<number, Neighbor[]>(withTaste.map((i, row) => [i, knn[row]!]));
  return { embeddings, neighbors: new Map(users.map((u, i) => [u, byUser.get(i) ?? []])) };
}
