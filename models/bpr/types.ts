import type { IdMap, InteractionMatrix } from '../interactions.js';

/** How negatives are drawn: `uniform` over items, or `popularity` (an item of a random interaction, as implicit does). */
export type NegativeSampling = 'uniform' | 'popularity';

/** Hyperparameters shared by every BPR implementation. */
export interface BprOptions {
  /** Latent dimensions (default 128). */
  readonly factors: number;
  /** SGD step of the first epoch (default 0.1; see `learningRateDecay`). */
  readonly learningRate: number;
  /** L2 regularisation per update (default 0.01). */
  readonly regularization: number;
  /** Passes over the data; one epoch draws `nnz` samples (default 200, tuned on Last.fm: docs/models-bpr.md). */
  readonly epochs: number;
  /** Learn an item bias (a factor column whose user side is fixed at 1; default true). */
  readonly itemBias: boolean;
  readonly negatives: NegativeSampling;
  /** Resample a negative that is a positive of the user (binary search in the sorted CSR row; default true). */
  readonly verifyNegatives: boolean;
  /** Seed for initialisation and sampling (default 42). One thread with a seed is deterministic. */
  readonly seed: number;
  /** CPU: worker threads (hogwild); 1 runs in the calling thread (default 1). */
  readonly threads: number;
  /** CPU: run the dot product and update in WebAssembly SIMD when the runtime has it (default true; else plain JS). */
  readonly simd: boolean;
  /** TF.js: samples per gradient step (default 1024). */
  readonly batchSize: number;
  /**
   * Confidence α of the positive sampler: interaction (u, i) with weight w (play count) is drawn as a positive with
   * probability ∝ 1 + α·ln(1 + w). 0 draws every interaction alike (implicit's BPR, which ignores weights). Default 1.
   */
  readonly confidence: number;
  /**
   * Negatives drawn per sample; the one the model currently scores highest is used (dynamic negative sampling,
   * Zhang et al. 2013: harder negatives as training goes on). 1 = one plain draw (implicit's). Default 3.
   */
  readonly negativeCandidates: number;
  /** The last epoch's learning rate as a share of `learningRate`, reached linearly from the first epoch's (1: constant, implicit's; default 0.1). */
  readonly learningRateDecay: number;
}

/**
 * Defaults chosen on Last.fm's VALIDATION split (`buddies eval interactions --on validation`; the test half was not
 * consulted): see docs/models-bpr.md "Default settings" and docs/results/eval-lastfm-implicit.md.
 */
export const DEFAULT_BPR_OPTIONS: BprOptions = {
  factors: 128,
  learningRate: 0.1,
  regularization: 0.01,
  epochs: 200,
  itemBias: true,
  negatives: 'uniform',
  verifyNegatives: true,
  seed: 42,
  threads: 1,
  simd: true,
  batchSize: 1024,
  confidence: 1,
  negativeCandidates: 3,
  learningRateDecay: 0.1,
};

/**
 * What makes ours train like implicit's `BayesianPersonalizedRanking` (parity benches and tests): popularity-weighted
 * negatives, every interaction alike as a positive, a constant learning rate. Factors, lr, reg and epochs are left to the caller.
 */
export const IMPLICIT_PARITY_OPTIONS: Pick<BprOptions, 'negatives' | 'confidence' | 'negativeCandidates' | 'learningRateDecay'> = {
  negatives: 'popularity',
  confidence: 0,
  negativeCandidates: 1,
  learningRateDecay: 1,
};

/** The learning rate of 0-based epoch `e` of `o.epochs`: linear from `learningRate` to `learningRate · learningRateDecay`. */
export function epochLearningRate(o: BprOptions, e: number): number {
  if (o.learningRateDecay === 1 || o.epochs <= 1) return o.learningRate;
  return o.learningRate * (1 - ((1 - o.learningRateDecay) * e) / (o.epochs - 1));
}

/**
 * Learned factors. Rows have `stride` floats: `factors` latent values, then (with an item bias) one more
 * column that is the item's bias on the item side and a constant 1 on the user side, so a score is a plain dot product.
 */
export interface BprFactors {
  readonly factors: number;
  readonly itemBias: boolean;
  readonly stride: number;
  readonly users: IdMap;
  readonly items: IdMap;
  readonly userFactors: Float32Array;
  readonly itemFactors: Float32Array;
}

/** What each epoch reports (to `onEpoch`, and in the fit report). */
export interface EpochReport {
  /** 1-based. */
  readonly epoch: number;
  readonly samples: number;
  /** Samples dropped because no true negative was found in a few draws. */
  readonly skipped: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  /** Share of samples where the positive already outscored the negative before the update (a training AUC estimate). */
  readonly auc: number;
  /** Mean −log σ(x̂_ui − x̂_uj) over a subsample of the updates. */
  readonly loss: number;
}

export interface FitOptions {
  /** Called after every epoch (progress, early stop by throwing). */
  readonly onEpoch?: (report: EpochReport) => void;
  /** Starts from these factors instead of random ones; users and items are matched by id, new ones start random. */
  readonly warmStart?: BprFactors;
  /** Saves the model to `${dir}/epoch-NNNN` after every `every` epochs (default every epoch). */
  readonly checkpoint?: { readonly dir: string; readonly every?: number };
  /**
   * Resumes a run after `startEpoch` finished epochs (default 0): epochs `startEpoch + 1 .. epochs` run with the
   * learning rates and sampling seeds they would have had, so `warmStart` from checkpoint `epoch-NNNN` plus
   * `startEpoch: NNNN` continues that run (bit for bit with one thread on the CPU).
   */
  readonly startEpoch?: number;
}

export interface FitReport {
  readonly backend: string;
  readonly epochs: readonly EpochReport[];
  readonly seconds: number;
}

/** Ranked item indices (into the model's item id map), best first, with their scores. */
export interface Ranked {
  readonly items: Int32Array;
  readonly scores: Float32Array;
}

/** Extra manifest fields written by {@link BprModel.save} (data hash, metrics, …). */
export type ManifestExtra = Readonly<Record<string, unknown>>;

/**
 * One BPR model (implicit's `fit / recommend / similar_items / save`). Lifecycle: create, `fit` (or `load`),
 * then query; `fit` again retrains from scratch (or from `warmStart`). `dispose` frees backend memory; idempotent.
 */
export interface BprModel {
  readonly options: BprOptions;
  /** The backend actually in use (e.g. `cpu-js`, `tfjs-tensorflow`, `tfjs-wasm`, `tfjs-cpu`); known after fit or load. */
  readonly backend: string;
  /** The learned factors; throws before `fit` or `load`. */
  readonly model: BprFactors;
  fit(train: InteractionMatrix, options?: FitOptions): Promise<FitReport>;
  /** Top `k` items for user index `user`; items of `exclude`'s row for that user are left out (pass the training matrix). */
  recommend(user: number, k: number, exclude?: InteractionMatrix): Ranked;
  /** {@link recommend} for many users. */
  recommendMany(users: ArrayLike<number>, k: number, exclude?: InteractionMatrix): Ranked[];
  /** The `k` items most similar to item index `item` by cosine of the latent factors (itself left out). */
  similarItems(item: number, k: number): Ranked;
  /** Writes manifest.json, user/item factors and id maps to `dir`; returns the manifest. */
  save(dir: string, extra?: ManifestExtra): Promise<BprManifest>;
  /** Replaces the factors with a saved model's. */
  load(dir: string): Promise<BprManifest>;
  dispose(): void;
}

/** manifest.json of a saved model. */
export interface BprManifest {
  readonly format: 'buddies-bpr';
  readonly formatVersion: number;
  readonly factors: number;
  readonly itemBias: boolean;
  readonly stride: number;
  readonly numUsers: number;
  readonly numItems: number;
  readonly params: BprOptions;
  readonly backend: string;
  readonly createdAt: string;
  readonly [extra: string]: unknown;
}

/** Bad options: thrown by factories before any work. */
export class BprOptionsError extends RangeError {
  override readonly name = 'BprOptionsError';
}

/** Fills defaults and validates at once. */
export function resolveBprOptions(partial: Partial<BprOptions> = {}): BprOptions {
  const o: BprOptions = { ...DEFAULT_BPR_OPTIONS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  const posInt = (name: keyof BprOptions, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new BprOptionsError(`${name} must be a positive integer, got ${v}`);
  };
  posInt('factors', o.factors);
  posInt('epochs', o.epochs);
  posInt('threads', o.threads);
  posInt('batchSize', o.batchSize);
  posInt('negativeCandidates', o.negativeCandidates);
  if (!(o.learningRate > 0 && Number.isFinite(o.learningRate))) throw new BprOptionsError(`learningRate must be > 0, got ${o.learningRate}`);
  if (!(o.regularization >= 0 && Number.isFinite(o.regularization))) throw new BprOptionsError(`regularization must be ≥ 0, got ${o.regularization}`);
  if (o.negatives !== 'uniform' && o.negatives !== 'popularity') throw new BprOptionsError(`negatives must be uniform or popularity, got ${String(o.negatives)}`);
  if (!Number.isInteger(o.seed)) throw new BprOptionsError(`seed must be an integer, got ${o.seed}`);
  if (!(o.confidence >= 0 && Number.isFinite(o.confidence))) throw new BprOptionsError(`confidence must be ≥ 0, got ${o.confidence}`);
  if (!(o.learningRateDecay > 0 && o.learningRateDecay <= 1)) throw new BprOptionsError(`learningRateDecay must lie in (0, 1], got ${o.learningRateDecay}`);
  return o;
}
