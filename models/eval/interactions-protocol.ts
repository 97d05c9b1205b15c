import type { BprModel } from '../bpr/index.js';
import { createRng } from '../random.js';
import { hasInteraction, holdoutSplit, itemCounts, rowOf, type InteractionMatrix } from '../interactions.js';
import { popularPicks, randomPicks } from '../recommend/index.js';
import { coverageAtK, meanOver, ndcgAtK, noveltyAtK, precisionAtK, recallAtK } from './metrics.js';

/**
 * Protocol (b): user–item interactions with a seeded holdout of 20% per user. Every method ranks the whole
 * catalogue for each test user (no sampled negatives), with the user's training items left out; the held-out
 * items are the relevant set.
 */

/** Anything that ranks item indices for user indices, training items excluded. */
export interface ItemRecommender {
  readonly name: string;
  recommend(users: Int32Array, k: number): Promise<ArrayLike<number>[]> | ArrayLike<number>[];
}

/** Most popular training items (by number of users) the user does not have: the `popular` baseline (models/recommend). */
export function popularityRecommender(train: InteractionMatrix): ItemRecommender {
  const counts = itemCounts(train);
  const order = Array.from({ length: counts.length }, (_, i) => i).sort((a, b) => counts[b]! - counts[a]! || a - b);
  return {
    name: 'popularity',
    recommend: (users, k) => Array.from(users, (u) => popularPicks(order, k, (i) => hasInteraction(train, u, i))),
  };
}

/** Uniformly random items the user does not have (seeded): the `random` baseline (models/recommend). */
export function randomRecommender(train: InteractionMatrix, seed: number): ItemRecommender {
  const nItems = train.items.ids.length;
  return {
    name: 'random',
    recommend(users, k) {
      const rng = createRng(seed);
      return Array.from(users, (u) => randomPicks(nItems, k, (i) => hasInteraction(train, u, i), rng.next));
    },
  };
}

/** A fitted BPR model as a recommender (training items excluded). */
export function bprRecommender(model: BprModel, train: InteractionMatrix, name = 'bpr'): ItemRecommender {
  return { name, recommend: (users, k) => model.recommendMany(users, k, train).map((r) => r.items) };
}

/** Metric name → value, e.g. `ndcg@10`. */
export type MetricValues = Record<string, number>;

/** recall, precision and NDCG at each k over users with held-out items; coverage and novelty of the lists. */
export function scoreLists(lists: readonly ArrayLike<number>[], users: Int32Array, train: InteractionMatrix, test: InteractionMatrix, ks: readonly number[]): MetricValues {
  const relevant = Array.from(users, (u) => new Set<number>(rowOf(test, u)));
  const counts = itemCounts(train);
  const out: MetricValues = {};
  for (const k of ks) {
    out[`recall@${k}`] = meanOver(lists, relevant, (l, rel) => recallAtK(l, rel as ReadonlySet<number>, k));
    out[`precision@${k}`] = meanOver(lists, relevant, (l, rel) => precisionAtK(l, rel as ReadonlySet<number>, k));
    out[`ndcg@${k}`] = meanOver(lists, relevant, (l, rel) => ndcgAtK(l, rel as ReadonlySet<number>, k));
    out[`coverage@${k}`] = coverageAtK(lists, train.items.ids.length, k);
    out[`novelty@${k}`] = noveltyAtK(lists, (i) => counts[i as number]!, train.users.ids.length, k);
  }
  return out;
}

export interface ProtocolOptions {
  /** Held-out share per user (default 0.2). */
  readonly holdout?: number;
  /** Split seed (default 42). */
  readonly seed?: number;
  /** Cut-offs (default [10, 20]). */
  readonly ks?: readonly number[];
  /** Builds the methods to compare on the training half (baselines are added by the protocol). */
  readonly methods: (train: InteractionMatrix) => Promise<ItemRecommender[]>;
  /** Include the popularity and random baselines (default true). */
  readonly baselines?: boolean;
}

export interface MethodResult {
  readonly name: string;
  readonly metrics: MetricValues;
  /** Seconds to build (train) and rank. */
  readonly seconds: number;
}

export interface ProtocolResult {
  readonly protocol: 'interactions-holdout';
  readonly holdout: number;
  readonly seed: number;
  readonly ks: readonly number[];
  readonly users: number;
  readonly items: number;
  readonly trainInteractions: number;
  readonly testInteractions: number;
  readonly testUsers: number;
  readonly methods: readonly MethodResult[];
}

export async function runInteractionsProtocol(m: InteractionMatrix, options: ProtocolOptions): Promise<ProtocolResult> {
  const holdout = options.holdout ?? 0.2;
  const seed = options.seed ?? 42;
  const ks = options.ks ?? [10, 20];
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new RangeError(`ks must be positive integers, got ${ks.join(',')}`);
  const { train, test } = holdoutSplit(m, { fraction: holdout, seed });
  const users = Int32Array.from({ length: m.users.ids.length }, (_, u) => u).filter((u) => test.indptr[u + 1]! > test.indptr[u]!);
  const kMax = Math.max(...ks);
  const results: MethodResult[] = [];
  const score = async (build: () => Promise<ItemRecommender[]>): Promise<void> => {
    const t0 = performance.now();
    const recs = await build();
    const built = performance.now() - t0;
    for (const r of recs) {
      const t1 = performance.now();
      const lists = await r.recommend(users, kMax);
      results.push({ name: r.name, metrics: scoreLists(lists, users, train, test, ks), seconds: (built / recs.length + performance.now() - t1) / 1000 });
    }
  };
  if (options.baselines ?? true) await score(async () => [popularityRecommender(train), randomRecommender(train, seed)]);
  await score(() => options.methods(train));
  return {
    protocol: 'interactions-holdout',
    holdout,
    seed,
    ks,
    users: m.users.ids.length,
    items: m.items.ids.length,
    trainInteractions: train.nnz,
    testInteractions: test.nnz,
    testUsers: users.length,
    methods: results,
  };
}

/** A plain-text table: one row per method, one column per metric. */
export function formatResultTable(r: ProtocolResult): string {
  const cols = Object.keys(r.methods[0]?.metrics ?? {});
  const width = Math.max(10, ...r.methods.map((m) => m.name.length));
  const head = ['method'.padEnd(width), ...cols.map((c) => c.padStart(12)), 'seconds'.padStart(9)].join(' ');
  const rows = r.methods.map((m) => [m.name.padEnd(width), ...cols.map((c) => (m.metrics[c] ?? NaN).toFixed(4).padStart(12)), m.seconds.toFixed(1).padStart(9)].join(' '));
  return [head, ...rows].join('\n');
}

/** The result as a Markdown table (for docs/results). */
export function markdownResultTable(r: ProtocolResult, title: string, notes: readonly string[]): string {
  const cols = Object.keys(r.methods[0]?.metrics ?? {});
  const lines = [
    `# ${title}`,
    '',
    ...notes.map((n) => `${n}  `),
    '',
    `| method | ${cols.join(' | ')} | seconds |`,
    `|---|${cols.map(() => '---:').join('|')}|---:|`,
    ...r.methods.map((m) => `| ${m.name} | ${cols.map((c) => (m.metrics[c] ?? NaN).toFixed(4)).join(' | ')} | ${m.seconds.toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}
