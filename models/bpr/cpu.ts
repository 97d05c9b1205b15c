import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InteractionMatrix } from '../interactions.js';
import { initFactors, recommendFromFactors, similarFromFactors } from './factors.js';
import { bprKernel } from './kernel.js';
import { createSimdMemory, instantiateSimd, simdSupported, type SimdOps, type WasmMemory, type WasmModule } from './simd.js';
import { loadFactors, saveFactors } from './store.js';
import { resolveBprOptions, type BprFactors, type BprModel, type BprOptions, type EpochReport, type FitOptions, type FitReport } from './types.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bprKernel = ${bprKernel.toString()};
const w = workerData;
const U = new Float32Array(w.U, w.uOffset, w.uLength), V = new Float32Array(w.V, w.vOffset, w.vLength);
const userOf = new Int32Array(w.userOf), indptr = new Int32Array(w.indptr), indices = new Int32Array(w.indices);
const stats = new Float64Array(w.stats, w.slot * 32, 4);
let simd = null;
if (w.module) {
  const ex = new WebAssembly.Instance(w.module, { env: { mem: w.memory } }).exports;
  simd = { dot: ex.dot, update: ex.update, uBase: w.uOffset, vBase: w.vOffset };
}
parentPort.on('message', (m) => {
  bprKernel(U, V, w.stride, w.nf, w.bias, userOf, indptr, indices, w.nItems, m.samples, m.seed, m.lr, m.reg, w.negMode, w.verify, stats, simd);
  parentPort.postMessage('done');
});
`;

/** Factors living in one shared WebAssembly memory (U at byte 0, V after it), with the SIMD module compiled for it. */
interface SimdMemory {
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  readonly ops: SimdOps;
  readonly vBase: number;
}

const MAX_PAGES = 65536;

/** Allocates the factors in shared WebAssembly memory when SIMD is wanted and fits (4 GiB), else in SharedArrayBuffers. */
function allocate(useSimd: boolean): { alloc: (a: number, b: number) => { U: Float32Array; V: Float32Array }; simd: () => SimdMemory | undefined } {
  let simd: SimdMemory | undefined;
  return {
    alloc(a, b) {
      const bytes = (a + b) * 4;
      const pages = Math.max(1, Math.ceil(bytes / 65536));
      if (useSimd && pages <= MAX_PAGES && simdSupported()) {
        const { memory, module } = createSimdMemory(pages);
        simd = { memory, module, ops: instantiateSimd(memory, module), vBase: a * 4 };
        return { U: new Float32Array(memory.buffer, 0, a), V: new Float32Array(memory.buffer, a * 4, b) };
      }
      return { U: new Float32Array(new SharedArrayBuffer(Math.max(4, a * 4))), V: new Float32Array(new SharedArrayBuffer(Math.max(4, b * 4))) };
    },
    simd: () => simd,
  };
}

/** Per-(seed, epoch, thread) sampling seed, so runs repeat and threads draw different streams. */
export function epochSeed(seed: number, epoch: number, thread: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77) ^ Math.imul(thread + 1, 0xc2b2ae3d)) | 0;
}

function shareInt32(a: Int32Array): Int32Array {
  const s = new Int32Array(new SharedArrayBuffer(Math.max(4, a.byteLength)));
  s.set(a);
  return s;
}

interface Pool {
  run(epoch: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts `threads` workers over the shared factors and CSR arrays; each epoch every worker draws its share of samples. */
async function startPool(f: BprFactors, train: InteractionMatrix, o: BprOptions, stats: Float64Array, simd: SimdMemory | undefined): Promise<Pool> {
  const data = {
    U: f.userFactors.buffer, uOffset: f.userFactors.byteOffset, uLength: f.userFactors.length,
    V: f.itemFactors.buffer, vOffset: f.itemFactors.byteOffset, vLength: f.itemFactors.length,
    module: simd?.module, memory: simd?.memory, stride: f.stride, nf: f.factors, bias: f.itemBias ? 1 : 0,
    userOf: shareInt32(train.userOf).buffer, indptr: shareInt32(train.indptr).buffer, indices: shareInt32(train.indices).buffer,
    nItems: train.items.ids.length, negMode: o.negatives === 'uniform' ? 0 : 1, verify: o.verifyNegatives ? 1 : 0, stats: stats.buffer,
  };
  const workers = Array.from({ length: o.threads }, (_, slot) => new Worker(WORKER_SOURCE, { eval: true, workerData: { ...data, slot } }));
  const per = Math.ceil(train.nnz / o.threads);
  return {
    run: (epoch) =>
      Promise.all(
        workers.map(
          (w, t) =>
            new Promise<void>((resolve, reject) => {
              const onError = (e: Error): void => reject(e);
              w.once('error', onError);
              w.once('message', () => {
                w.off('error', onError);
                resolve();
              });
              w.postMessage({ samples: Math.min(per, train.nnz - t * per), seed: epochSeed(o.seed, epoch, t), lr: o.learningRate, reg: o.regularization });
            }),
        ),
      ).then(() => undefined),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * BPR trained by SGD on the CPU: hogwild over SharedArrayBuffer factors with `threads` worker threads, or in the
 * calling thread with `threads: 1` (then a seed makes it fully deterministic).
 */
export function createCpuBpr(options: Partial<BprOptions> = {}): BprModel {
  const o = resolveBprOptions(options);
  let state: BprFactors | undefined;
  let kernel = 'js';
  const need = (): BprFactors => {
    if (!state) throw new Error('BPR model is not fitted: call fit() or load() first');
    return state;
  };
  const model: BprModel = {
    options: o,
    get backend() {
      return kernel === 'wasm-simd' ? 'cpu-wasm-simd' : 'cpu-js';
    },
    get model() {
      return need();
    },
    async fit(train: InteractionMatrix, fit: FitOptions = {}): Promise<FitReport> {
      const started = performance.now();
      const mem = allocate(o.simd);
      const f = initFactors(train, o, fit.warmStart, mem.alloc);
      state = f;
      const simd = mem.simd();
      kernel = simd ? 'wasm-simd' : 'js';
      const stats = new Float64Array(new SharedArrayBuffer(32 * o.threads));
      const pool = o.threads > 1 && train.nnz > 0 ? await startPool(f, train, o, stats, simd) : undefined;
      const simdArg = simd ? { dot: simd.ops.dot, update: simd.ops.update, uBase: 0, vBase: simd.vBase } : null;
      const epochs: EpochReport[] = [];
      try {
        for (let e = 0; e < o.epochs; e++) {
          stats.fill(0);
          const t0 = performance.now();
          if (pool) await pool.run(e);
          else if (train.nnz > 0) {
            bprKernel(f.userFactors, f.itemFactors, f.stride, f.factors, f.itemBias ? 1 : 0, train.userOf, train.indptr, train.indices,
              train.items.ids.length, train.nnz, epochSeed(o.seed, e, 0), o.learningRate, o.regularization,
              o.negatives === 'uniform' ? 0 : 1, o.verifyNegatives ? 1 : 0, stats, simdArg);
          }
          const seconds = (performance.now() - t0) / 1000;
          let correct = 0, skipped = 0, loss = 0, lossN = 0;
          for (let t = 0; t < o.threads; t++) {
            correct += stats[t * 4]!;
            skipped += stats[t * 4 + 1]!;
            loss += stats[t * 4 + 2]!;
            lossN += stats[t * 4 + 3]!;
          }
          const used = train.nnz - skipped;
          const report: EpochReport = {
            epoch: e + 1, samples: train.nnz, skipped, seconds, samplesPerSecond: seconds > 0 ? train.nnz / seconds : 0,
            auc: used > 0 ? correct / used : 0, loss: lossN > 0 ? loss / lossN : 0,
          };
          epochs.push(report);
          fit.onEpoch?.(report);
          const every = fit.checkpoint?.every ?? 1;
          if (fit.checkpoint && (e + 1) % every === 0) {
            await saveFactors(f, join(fit.checkpoint.dir, `epoch-${String(e + 1).padStart(4, '0')}`), o, model.backend, { epoch: e + 1, checkpoint: true });
          }
        }
      } finally {
        await pool?.close();
      }
      return { backend: model.backend, epochs, seconds: (performance.now() - started) / 1000 };
    },
    recommend: (user, k, exclude) => recommendFromFactors(need(), [user], k, exclude)[0]!,
    recommendMany: (users, k, exclude) => recommendFromFactors(need(), users, k, exclude),
    similarItems: (item, k) => similarFromFactors(need(), item, k),
    save: (dir, extra) => saveFactors(need(), dir, o, model.backend, extra),
    async load(dir) {
      const loaded = await loadFactors(dir);
      state = loaded.factors;
      return loaded.manifest;
    },
    dispose() {
      state = undefined;
    },
  };
  return model;
}
