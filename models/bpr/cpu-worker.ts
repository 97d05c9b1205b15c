/**
 * One hogwild BPR training thread (started by cpu.ts through models/worker.ts): for each {@link BprWorkerStep} it is
 * sent, it runs that many samples of the SIMD loop (over the shared WebAssembly memory) or of the JS kernel (over the
 * shared factors and CSR arrays), adds its statistics into its own slot, and answers `'done'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { bprKernel } from './kernel.js';
import { instantiateSimd, type WasmMemory, type WasmModule } from './simd.js';

/** What every BPR worker gets, whichever kernel it runs. */
interface BprWorkerCommon {
  readonly stride: number;
  readonly nf: number;
  /** 1 when the factors carry an item-bias column. */
  readonly bias: number;
  readonly nnz: number;
  readonly nItems: number;
  /** 0 uniform negatives, 1 popularity-weighted. */
  readonly negMode: number;
  readonly verify: number;
  /** Negative candidates per sample (dynamic negative sampling when > 1). */
  readonly candidates: number;
}

/** SIMD kernel: everything lives in one shared WebAssembly memory, at these byte offsets (statistics at byte 0). */
export interface BprWasmWorkerData extends BprWorkerCommon {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly uB: number;
  readonly vB: number;
  readonly userOfB: number;
  readonly indptrB: number;
  readonly indicesB: number;
}

/** JS kernel: the factors (views into shared buffers), the CSR arrays and the statistics as shared buffers. */
export interface BprJsWorkerData extends BprWorkerCommon {
  readonly module?: undefined;
  readonly U: ArrayBufferLike;
  readonly uOffset: number;
  readonly uLength: number;
  readonly V: ArrayBufferLike;
  readonly vOffset: number;
  readonly vLength: number;
  readonly userOf: ArrayBufferLike;
  readonly indptr: ArrayBufferLike;
  readonly indices: ArrayBufferLike;
  readonly stats: ArrayBufferLike;
}

/** What all the threads of one pool share. */
export type BprWorkerShared = BprWasmWorkerData | BprJsWorkerData;

/** One thread's `workerData`: the shared part and its index `slot` (its statistics are the 4 f64 at byte slot * 32). */
export type BprWorkerData = BprWorkerShared & { readonly slot: number };

/** One epoch's share for one thread; the worker answers `'done'` when it has run it. */
export interface BprWorkerStep {
  readonly samples: number;
  readonly seed: number;
  readonly lr: number;
  readonly reg: number;
}

const port = parentPort;
if (!port) throw new Error('cpu-worker.ts runs as a worker thread (started by cpu.ts)');
const w = workerData as BprWorkerData;
let step: (m: BprWorkerStep) => void;
if (w.module) {
  const ex = instantiateSimd(w.memory, w.module);
  step = (m) =>
    ex.run(m.samples, m.seed, w.nnz, w.nItems, m.lr, m.reg, w.negMode, w.verify, w.uB, w.vB, w.userOfB, w.indptrB, w.indicesB,
      w.stride, w.nf, w.bias, w.slot * 32, w.candidates);
} else {
  const U = new Float32Array(w.U, w.uOffset, w.uLength), V = new Float32Array(w.V, w.vOffset, w.vLength);
  const userOf = new Int32Array(w.userOf), indptr = new Int32Array(w.indptr), indices = new Int32Array(w.indices);
  const stats = new Float64Array(w.stats, w.slot * 32, 4);
  step = (m) => bprKernel(U, V, w.stride, w.nf, w.bias, userOf, indptr, indices, w.nItems, m.samples, m.seed, m.lr, m.reg, w.negMode, w.verify, stats, w.candidates);
}
port.on('message', (m: BprWorkerStep) => {
  step(m);
  port.postMessage('done');
});
