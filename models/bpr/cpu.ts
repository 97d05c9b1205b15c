import { join } from 'node:path';
import { startWorker } from '../worker.js';
import type { BprWorkerData, BprWorkerShared, BprWorkerStep } from './cpu-worker.js';
import { createFactorHolder } from './holder.js';
import type { InteractionMatrix } from '../interactions.js';
import { initFactors } from './factors.js';
import { positiveTable, type PositiveTable } from './positives.js';
import { bprKernel } from './kernel.js';
import { createSimdMemory, instantiateSimd, simdSupported, type SimdOps, type WasmMemory, type WasmModule } from './simd.js';
import { saveFactors } from './store.js';
import { epochLearningRate, resolveBprOptions, type BprFactors, type BprModel, type BprOptions, type EpochReport, type FitOptions, type FitReport } from './types.js';

/**
 * One shared WebAssembly memory holding everything the SIMD loop touches: per-thread statistics (4 f64 each) at
 * byte 0, then U, V and the CSR arrays; and the module compiled for it.
 */
interface WasmTraining {
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  readonly ops: SimdOps;
  readonly stats: Float64Array;
  readonly uB: number;
  readonly vB: number;
  readonly userOfB: number;
  readonly indicesB: number;
  readonly indptrB: number;
}

const MAX_PAGES = 65536;

/**
 * Allocates the factors (and, for SIMD, the CSR arrays) in shared WebAssembly memory when SIMD is wanted, supported and
 * everything fits in 4 GiB; else plain SharedArrayBuffers for the JS kernel.
 */
function allocate(useSimd: boolean, train: InteractionMatrix, table: PositiveTable, threads: number): { alloc: (a: number, b: number) => { U: Float32Array; V: Float32Array }; wasm: () => WasmTraining | undefined } {
  let wasm: WasmTraining | undefined;
  return {
    alloc(a, b) {
      const uB = 64 * Math.ceil((threads * 32) / 64);
      const vB = uB + a * 4;
      const userOfB = vB + b * 4;
      const indicesB = userOfB + table.size * 4;
      const indptrB = indicesB + table.size * 4;
      const pages = Math.max(1, Math.ceil((indptrB + train.indptr.length * 4) / 65536));
      if (useSimd && pages <= MAX_PAGES && simdSupported()) {
        const { memory, module } = createSimdMemory(pages);
        new Int32Array(memory.buffer, userOfB, table.size).set(table.userOf);
        new Int32Array(memory.buffer, indicesB, table.size).set(table.indices);
        new Int32Array(memory.buffer, indptrB, train.indptr.length).set(train.indptr);
        wasm = { memory, module, ops: instantiateSimd(memory, module), stats: new Float64Array(memory.buffer, 0, threads * 4), uB, vB, userOfB, indicesB, indptrB };
        return { U: new Float32Array(memory.buffer, uB, a), V: new Float32Array(memory.buffer, vB, b) };
      }
      return { U: new Float32Array(new SharedArrayBuffer(Math.max(4, a * 4))), V: new Float32Array(new SharedArrayBuffer(Math.max(4, b * 4))) };
    },
    wasm: () => wasm,
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
async function startPool(f: BprFactors, train: InteractionMatrix, table: PositiveTable, o: BprOptions, stats: Float64Array, wasm: WasmTraining | undefined): Promise<Pool> {
  const common = {
    stride: f.stride, nf: f.factors, bias: f.itemBias ? 1 : 0, nnz: table.size, nItems: train.items.ids.length,
    negMode: o.negatives === 'uniform' ? 0 : 1, verify: o.verifyNegatives ? 1 : 0, candidates: o.negativeCandidates,
  };
  const data: BprWorkerShared = wasm
    ? { ...common, module: wasm.module, memory: wasm.memory, uB: wasm.uB, vB: wasm.vB, userOfB: wasm.userOfB, indptrB: wasm.indptrB, indicesB: wasm.indicesB }
    : {
        ...common,
        U: f.userFactors.buffer, uOffset: f.userFactors.byteOffset, uLength: f.userFactors.length,
        V: f.itemFactors.buffer, vOffset: f.itemFactors.byteOffset, vLength: f.itemFactors.length,
        userOf: shareInt32(table.userOf).buffer, indptr: shareInt32(train.indptr).buffer, indices: shareInt32(table.indices).buffer, stats: stats.buffer,
      };
  const workers = Array.from({ length: o.threads }, (_, slot) => startWorker<BprWorkerData>(import.meta.url, './cpu-worker', { ...data, slot }));
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
              const step: BprWorkerStep = { samples: Math.min(per, train.nnz - t * per), seed: epochSeed(o.seed, epoch, t), lr: epochLearningRate(o, epoch), reg: o.regularization };
              w.postMessage(step);
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
  const factors = createFactorHolder(o, () => model.backend);
  let kernel = 'js';
  const model: BprModel = {
    options: o,
    get backend() {
      return kernel === 'wasm-simd' ? 'cpu-wasm-simd' : 'cpu-js';
    },
    get model() {
      return factors.need();
    },
    async fit(train: InteractionMatrix, fit: FitOptions = {}): Promise<FitReport> {
      const started = performance.now();
      const start = fit.startEpoch ?? 0;
      if (!Number.isInteger(start) || start < 0 || start > o.epochs) throw new RangeError(`startEpoch must be an integer in [0, ${o.epochs}], got ${start}`);
      const table = positiveTable(train, o.confidence);
      const mem = allocate(o.simd, train, table, o.threads);
      const f = initFactors(train, o, fit.warmStart, mem.alloc);
      factors.set(f);
      const wasm = mem.wasm();
      kernel = wasm ? 'wasm-simd' : 'js';
      const stats = wasm ? wasm.stats : new Float64Array(new SharedArrayBuffer(32 * o.threads));
      const pool = o.threads > 1 && train.nnz > 0 ? await startPool(f, train, table, o, stats, wasm) : undefined;
      const negMode = o.negatives === 'uniform' ? 0 : 1;
      const verify = o.verifyNegatives ? 1 : 0;
      const epochs: EpochReport[] = [];
      try {
        for (let e = start; e < o.epochs; e++) {
          stats.fill(0);
          const t0 = performance.now();
          const lr = epochLearningRate(o, e);
          if (pool) await pool.run(e);
          else if (train.nnz > 0 && wasm) {
            wasm.ops.run(train.nnz, epochSeed(o.seed, e, 0), table.size, train.items.ids.length, lr, o.regularization, negMode, verify,
              wasm.uB, wasm.vB, wasm.userOfB, wasm.indptrB, wasm.indicesB, f.stride, f.factors, f.itemBias ? 1 : 0, 0, o.negativeCandidates);
          } else if (train.nnz > 0) {
            bprKernel(f.userFactors, f.itemFactors, f.stride, f.factors, f.itemBias ? 1 : 0, table.userOf, train.indptr, table.indices,
              train.items.ids.length, train.nnz, epochSeed(o.seed, e, 0), lr, o.regularization, negMode, verify, stats, o.negativeCandidates);
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
    ...factors.serving,
  };
  return model;
}
