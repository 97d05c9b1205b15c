import { createCpuBpr } from './cpu.js';
import { loadFactors } from './store.js';
import { createTfjsBpr, loadTf, type TfBackendChoice } from './tfjs.js';
import type { BprModel, BprOptions } from './types.js';

export { createCpuBpr, epochSeed } from './cpu.js';
export { createTfjsBpr, loadTf } from './tfjs.js';
export type { LoadedTf, TfBackendChoice, TfjsBprOptions } from './tfjs.js';
export { BPR_FORMAT_VERSION, BprFormatError, loadFactors, saveFactors } from './store.js';
export { recommendFromFactors, similarFromFactors, topK } from './factors.js';
export { BprOptionsError, DEFAULT_BPR_OPTIONS, IMPLICIT_PARITY_OPTIONS, epochLearningRate, resolveBprOptions } from './types.js';
export { MAX_EXPANSION, positiveTable, type PositiveTable } from './positives.js';
export type { BprFactors, BprManifest, BprModel, BprOptions, EpochReport, FitOptions, FitReport, ManifestExtra, NegativeSampling, Ranked } from './types.js';

/** `cpu`: the worker-thread SGD kernel (WebAssembly SIMD or plain JS); `tfjs`: TF.js (GPU through tfjs-node-gpu when it loads); `auto`: tfjs only when a GPU backend loads, else cpu. */
export type BprBackend = 'cpu' | 'tfjs' | 'auto';

export interface CreateBprOptions extends Partial<BprOptions> {
  readonly backend?: BprBackend;
  /** For `tfjs`: which TF.js backend (default `auto`). */
  readonly tfBackend?: TfBackendChoice;
  /** Receives one line naming the backend chosen. */
  readonly log?: (line: string) => void;
}

/**
 * Picks a BPR implementation, in the manner of implicit's `bpr.py`: one interface, CPU or GPU behind it.
 * Options are validated at once (a `BprOptionsError` before any work).
 */
export async function createBpr(options: CreateBprOptions = {}): Promise<BprModel> {
  const { backend = 'auto', tfBackend, log, ...params } = options;
  if (backend !== 'cpu' && backend !== 'tfjs' && backend !== 'auto') throw new RangeError(`backend must be cpu, tfjs or auto, got ${String(backend)}`);
  if (backend === 'cpu') {
    const m = createCpuBpr(params);
    log?.(`bpr: backend cpu (${m.options.simd ? 'WebAssembly SIMD kernel where supported' : 'plain JS kernel'}, ${m.options.threads} thread${m.options.threads === 1 ? '' : 's'})`);
    return m;
  }
  if (backend === 'auto') {
    // a GPU is worth TF.js' overhead; on a CPU the SGD kernel is far faster
    const gpu = await loadTf('node-gpu').then(
      () => true,
      () => false,
    );
    if (!gpu) {
      const m = createCpuBpr(params);
      log?.(`bpr: backend cpu (${m.options.simd ? 'WebAssembly SIMD kernel where supported' : 'plain JS kernel'}, ${m.options.threads} thread${m.options.threads === 1 ? '' : 's'}; tfjs-node-gpu not available)`);
      return m;
    }
    return createTfjsBpr({ ...params, tfBackend: 'node-gpu', ...(log ? { log } : {}) });
  }
  return createTfjsBpr({ ...params, tfBackend: tfBackend ?? 'auto', ...(log ? { log } : {}) });
}

/** Loads a saved model into a fresh instance of the chosen backend (default cpu), with the saved hyperparameters. */
export async function loadBpr(dir: string, options: Omit<CreateBprOptions, keyof BprOptions> = {}): Promise<BprModel> {
  const { params } = await loadFactors(dir);
  const model = await createBpr({ ...params, backend: options.backend ?? 'cpu', ...options });
  await model.load(dir);
  return model;
}
