import { createBpr, type BprOptions } from '../bpr/index.js';
import { holdoutSplit, type InteractionMatrix } from '../interactions.js';
import { createRng, type Rng } from '../random.js';
import { bprRecommender, popularityRecommender, scoreLists, type MetricValues } from './interactions-protocol.js';

/** The search space of the random search. */
export const SEARCH_SPACE = {
  factors: [16, 32, 64, 128],
  epochs: [25, 50, 100, 200],
  learningRate: [0.01, 0.2],
  regularization: [0.0001, 0.05],
  negatives: ['uniform', 'popularity'],
} as const;

export type TunedParams = Pick<BprOptions, 'factors' | 'epochs' | 'learningRate' | 'regularization' | 'negatives'>;

/** One random configuration: factors, epochs and negatives uniform over their lists; lr and reg log-uniform. */
export function sampleConfig(rng: Rng): TunedParams {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const logUniform = ([lo, hi]: readonly [number, number]): number => Number(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))).toPrecision(3));
  return {
    factors: pick(SEARCH_SPACE.factors),
    epochs: pick(SEARCH_SPACE.epochs),
    learningRate: logUniform(SEARCH_SPACE.learningRate),
    regularization: logUniform(SEARCH_SPACE.regularization),
    negatives: pick(SEARCH_SPACE.negatives),
  };
}

export interface TuneOptions {
  readonly trials: number;
  /** NDCG cut-off. */
  readonly k: number;
  /** Seed of the search. */
  readonly seed: number;
  /** Seed of the holdout splits (as protocol (b)). */
  readonly splitSeed: number;
  /** CPU threads per trial (1: deterministic). */
  readonly threads: number;
  readonly log?: (line: string) => void;
}

export interface TuneTrial {
  readonly params: TunedParams;
  readonly validation: MetricValues;
  readonly seconds: number;
}

export interface TuneResult {
  /** Every trial, in the order tried. */
  readonly trials: readonly TuneTrial[];
  readonly best: TuneTrial;
  /** The best configuration retrained on the training half, scored on the test half; popularity beside it. */
  readonly test: { readonly bpr: MetricValues; readonly popularity: MetricValues; readonly backend: string };
  /** The metric the search maximises: `ndcg@K`. */
  readonly key: string;
}

async function trial(params: Partial<BprOptions>, fit: InteractionMatrix, score: InteractionMatrix, k: number): Promise<{ metrics: MetricValues; seconds: number; backend: string }> {
  const t0 = performance.now();
  const model = await createBpr({ ...params, backend: 'cpu' });
  await model.fit(fit);
  const users = Int32Array.from({ length: fit.users.ids.length }, (_, u) => u).filter((u) => score.indptr[u + 1]! > score.indptr[u]!);
  const lists = await bprRecommender(model, fit).recommend(users, k);
  return { metrics: scoreLists(lists, users, fit, score, [k]), seconds: (performance.now() - t0) / 1000, backend: model.backend };
}

/**
 * Random search over BPR hyperparameters on protocol (b): the data splits into train and test as in
 * `runInteractionsProtocol`, the training half once more into fit and validation. Each trial trains on fit and
 * is scored by NDCG@K on validation; the best is retrained on the training half and scored once on test, next
 * to popularity. The test half never guides the search.
 */
export async function tuneBpr(m: InteractionMatrix, opts: TuneOptions): Promise<TuneResult> {
  const log = opts.log ?? (() => {});
  const { k, threads } = opts;
  const { train, test } = holdoutSplit(m, { seed: opts.splitSeed });
  const { train: fit, test: validation } = holdoutSplit(train, { seed: opts.splitSeed + 1 });
  const rng = createRng(opts.seed);
  const key = `ndcg@${k}`;
  const trials: TuneTrial[] = [];
  for (let t = 0; t < opts.trials; t++) {
    const params = sampleConfig(rng);
    const r = await trial({ ...params, threads }, fit, validation, k);
    trials.push({ params, validation: r.metrics, seconds: r.seconds });
    const best = Math.max(...trials.map((x) => x.validation[key]!));
    log(`trial ${t + 1}/${opts.trials} ${JSON.stringify(params)} → validation ${key} ${r.metrics[key]!.toFixed(4)} (best ${best.toFixed(4)}, ${r.seconds.toFixed(1)}s)`);
  }
  const best = trials.reduce((a, b) => (b.validation[key]! > a.validation[key]! ? b : a));
  log(`best on validation: ${JSON.stringify(best.params)}; retraining on the training half and scoring on test`);
  const final = await trial({ ...best.params, threads }, train, test, k);
  const users = Int32Array.from({ length: m.users.ids.length }, (_, u) => u).filter((u) => test.indptr[u + 1]! > test.indptr[u]!);
  const popularity = scoreLists(await popularityRecommender(train).recommend(users, k), users, train, test, [k]);
  return { trials, best, test: { bpr: final.metrics, popularity, backend: final.backend }, key };
}
