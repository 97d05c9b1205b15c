import type { ItemEmbeddings } from './embeddings.js';
import { trainPpmiSvd, type PpmiSvdParams } from './ppmi-svd.js';
import { trainSgns, type SgnsParams } from './sgns.js';
import { encodeBaskets } from './vocabulary.js';

export type EmbeddingMethod = 'ppmi-svd' | 'sgns';

export const EMBEDDING_METHODS: readonly EmbeddingMethod[] = ['ppmi-svd', 'sgns'];

/** Defaults of {@link createEmbeddingTrainer} (and of the commands' embedding flags). */
export const DEFAULT_EMBEDDING_OPTIONS = { method: 'ppmi-svd', dims: 64, minCount: 2, seed: 1 } as const satisfies Required<Pick<EmbeddingTrainerOptions, 'method' | 'dims' | 'minCount' | 'seed'>>;

export interface EmbeddingTrainerOptions {
  readonly method?: EmbeddingMethod;
  /** Vector size (default 64). */
  readonly dims?: number;
  /** Items seen in fewer baskets are left out of the vocabulary (default 2). */
  readonly minCount?: number;
  readonly seed?: number;
  readonly ppmi?: Partial<Omit<PpmiSvdParams, 'dims' | 'seed'>>;
  readonly sgns?: Partial<Omit<SgnsParams, 'dims' | 'seed'>>;
  /** Progress lines (default: none). */
  readonly log?: (msg: string) => void;
}

/** Learns item embeddings from baskets of item ids (playlists, user histories). */
export interface EmbeddingTrainer {
  readonly options: Readonly<Required<Omit<EmbeddingTrainerOptions, 'log' | 'ppmi' | 'sgns'>>> & {
    readonly ppmi: PpmiSvdParams;
    readonly sgns: SgnsParams;
  };
  train(baskets: Iterable<readonly string[]>): ItemEmbeddings;
}

export const DEFAULT_PPMI: Omit<PpmiSvdParams, 'dims' | 'seed'> = {
  smoothing: 0.75,
  shift: 1,
  eigenPower: 0.5,
  oversample: 16,
  powerIterations: 3,
  weighting: 'none',
};

export const DEFAULT_SGNS: Omit<SgnsParams, 'dims' | 'seed'> = {
  epochs: 5,
  negatives: 5,
  contexts: 5,
  learningRate: 0.025,
  subsample: 1e-3,
};

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

export function createEmbeddingTrainer(options: EmbeddingTrainerOptions = {}): EmbeddingTrainer {
  const method = options.method ?? DEFAULT_EMBEDDING_OPTIONS.method;
  if (!EMBEDDING_METHODS.includes(method)) throw new RangeError(`unknown embedding method '${String(method)}'`);
  const dims = options.dims ?? DEFAULT_EMBEDDING_OPTIONS.dims;
  const minCount = options.minCount ?? DEFAULT_EMBEDDING_OPTIONS.minCount;
  const seed = options.seed ?? DEFAULT_EMBEDDING_OPTIONS.seed;
  positiveInt('dims', dims);
  positiveInt('minCount', minCount);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const ppmi: PpmiSvdParams = { ...DEFAULT_PPMI, ...options.ppmi, dims, seed };
  const sgns: SgnsParams = { ...DEFAULT_SGNS, ...options.sgns, dims, seed };
  if (!(ppmi.smoothing > 0 && ppmi.smoothing <= 1)) throw new RangeError('ppmi.smoothing must be in (0, 1]');
  if (!(ppmi.shift >= 1)) throw new RangeError('ppmi.shift must be >= 1');
  positiveInt('ppmi.oversample', ppmi.oversample);
  if (!Number.isInteger(ppmi.powerIterations) || ppmi.powerIterations < 0) throw new RangeError('ppmi.powerIterations must be >= 0');
  positiveInt('sgns.epochs', sgns.epochs);
  positiveInt('sgns.negatives', sgns.negatives);
  positiveInt('sgns.contexts', sgns.contexts);
  if (!(sgns.learningRate > 0)) throw new RangeError('sgns.learningRate must be > 0');
  const log = options.log ?? (() => {});
  const resolved = { method, dims, minCount, seed, ppmi, sgns };
  return {
    options: resolved,
    train(input) {
      const t0 = Date.now();
      const { vocabulary, baskets } = encodeBaskets(input, minCount);
      log(`embeddings: ${baskets.length} baskets, ${vocabulary.ids.length} items (minCount ${minCount}), method ${method}`);
      const vectors =
        method === 'ppmi-svd'
          ? trainPpmiSvd(baskets, vocabulary.ids.length, ppmi, log)
          : trainSgns(baskets, vocabulary.ids.length, sgns, log);
      const params = { ...(method === 'ppmi-svd' ? ppmi : sgns), minCount, baskets: baskets.length, seconds: (Date.now() - t0) / 1000 };
      return { method, dims, vocabulary, vectors, params };
    },
  };
}
