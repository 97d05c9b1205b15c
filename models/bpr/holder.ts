import { recommendFromFactors, similarFromFactors } from './factors.js';
import { loadFactors, saveFactors } from './store.js';
import type { BprFactors, BprModel, BprOptions } from './types.js';

/**
 * The half of every {@link BprModel} that does not train: it holds the factors and serves, saves and loads
 * them. Each implementation (CPU kernel, TF.js) adds `fit`, which calls `set`.
 */
export interface FactorHolder {
  /** The factors; throws before `fit` or `load`. */
  need(): BprFactors;
  set(factors: BprFactors | undefined): void;
  readonly serving: Pick<BprModel, 'recommend' | 'recommendMany' | 'similarItems' | 'save' | 'load' | 'dispose'>;
}

export function createFactorHolder(options: BprOptions, backend: () => string): FactorHolder {
  let state: BprFactors | undefined;
  const need = (): BprFactors => {
    if (!state) throw new Error('BPR model is not fitted: call fit() or load() first');
    return state;
  };
  return {
    need,
    set: (f) => { state = f; },
    serving: {
      recommend: (user, k, exclude) => recommendFromFactors(need(), [user], k, exclude)[0]!,
      recommendMany: (users, k, exclude) => recommendFromFactors(need(), users, k, exclude),
      similarItems: (item, k) => similarFromFactors(need(), item, k),
      save: (dir, extra) => saveFactors(need(), dir, options, backend(), extra),
      async load(dir) {
        const loaded = await loadFactors(dir);
        state = loaded.factors;
        return loaded.manifest;
      },
      dispose() {
        state = undefined;
      },
    },
  };
}
