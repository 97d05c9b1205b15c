import { join } from 'node:path';
import { createFactorHolder } from './holder.js';
import type { InteractionMatrix } from '../interactions.js';
import { initFactors } from './factors.js';
import { epochSeed } from './cpu.js';
import { positiveTable } from './positives.js';
import { createTripleSampler } from './sampler.js';
import { saveFactors } from './store.js';
import { epochLearningRate, resolveBprOptions, type BprFactors, type BprModel, type BprOptions, type EpochReport, type FitOptions, type FitReport } from './types.js';

type Tf = typeof import('@tensorflow/tfjs');

/** Which TF.js backend to use: `auto` tries tfjs-node-gpu (CUDA), tfjs-node, WASM, then the pure-JS cpu backend. */
export type TfBackendChoice = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';

export interface LoadedTf {
  readonly tf: Tf;
  /** `tfjs-node-gpu`, `tfjs-node`, `tfjs-wasm` or `tfjs-cpu`. */
  readonly name: string;
  /** The TF.js backend name: `tensorflow`, `wasm` or `cpu`. */
  readonly key: string;
}

// a variable specifier keeps TypeScript from resolving optional packages that may not be installed
async function importOptional(specifier: string): Promise<Tf | undefined> {
  try {
    const m = (await import(specifier)) as Tf & { default?: Tf };
    // CommonJS packages (tfjs-node*) may expose the namespace only as `default`
    return typeof m.setBackend === 'function' ? m : m.default;
  } catch {
    return undefined;
  }
}

const loaded = new Map<TfBackendChoice, Promise<LoadedTf>>();

async function load(choice: TfBackendChoice): Promise<LoadedTf> {
  const tryNode = async (pkg: string, name: string): Promise<LoadedTf | undefined> => {
    const tf = await importOptional(pkg);
    if (!tf) return undefined;
    if (!(await tf.setBackend('tensorflow'))) return undefined;
    return { tf, name, key: 'tensorflow' };
  };
  if (choice === 'auto' || choice === 'node-gpu') {
    const r = await tryNode('@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu');
    if (r) return r;
    if (choice === 'node-gpu') throw new Error('@tensorflow/tfjs-node-gpu is not installed or cannot load (it needs CUDA libraries)');
  }
  if (choice === 'auto' || choice === 'node') {
    const r = await tryNode('@tensorflow/tfjs-node', 'tfjs-node');
    if (r) return r;
    if (choice === 'node') throw new Error('@tensorflow/tfjs-node is not installed or cannot load');
  }
  const tf = await import('@tensorflow/tfjs');
  if (choice === 'auto' || choice === 'wasm') {
    const wasm = await importOptional('@tensorflow/tfjs-backend-wasm');
    if (wasm && (await tf.setBackend('wasm').catch(() => false))) return { tf, name: 'tfjs-wasm', key: 'wasm' };
    if (choice === 'wasm') throw new Error('@tensorflow/tfjs-backend-wasm cannot load');
  }
  await tf.setBackend('cpu');
  return { tf, name: 'tfjs-cpu', key: 'cpu' };
}

/** Loads (once per choice) and activates a TF.js backend. */
export async function loadTf(choice: TfBackendChoice = 'auto'): Promise<LoadedTf> {
  let p = loaded.get(choice);
  if (!p) {
    p = load(choice);
    loaded.set(choice, p);
  }
  const r = await p;
  // several choices may be loaded in one process: make this one the active backend again
  await r.tf.setBackend(r.key);
  return r;
}

export interface TfjsBprOptions extends BprOptions {
  readonly tfBackend: TfBackendChoice;
  /** Called once with the backend in use (default: one line on stderr is left to the caller; nothing here). */
  readonly log?: (line: string) => void;
}

/**
 * BPR trained with TF.js: mini-batches of `batchSize` triples drawn like the CPU kernel, gradients written out by
 * hand (gather, then scatterND sums duplicates) so every backend, WASM included, has the kernels; lr applies per
 * sample as on the CPU. Queries run on the factors copied back to JS.
 */
export function createTfjsBpr(options: Partial<TfjsBprOptions> = {}): BprModel {
  const o = resolveBprOptions(options);
  const choice = options.tfBackend ?? 'auto';
  let backend = `tfjs(${choice})`;
  const factors = createFactorHolder(o, () => model.backend);
  const model: BprModel = {
    options: o,
    get backend() {
      return backend;
    },
    get model() {
      return factors.need();
    },
    async fit(train: InteractionMatrix, fit: FitOptions = {}): Promise<FitReport> {
      const started = performance.now();
      const start = fit.startEpoch ?? 0;
      if (!Number.isInteger(start) || start < 0 || start > o.epochs) throw new RangeError(`startEpoch must be an integer in [0, ${o.epochs}], got ${start}`);
      const { tf, name } = await loadTf(choice);
      backend = name;
      options.log?.(`bpr: TF.js backend ${name} (${tf.getBackend()})`);
      const f0 = initFactors(train, o, fit.warmStart);
      const nu = train.users.ids.length;
      const ni = train.items.ids.length;
      const D = f0.stride;
      const U = tf.variable(tf.tensor2d(f0.userFactors, [nu, D]));
      const V = tf.variable(tf.tensor2d(f0.itemFactors, [ni, D]));
      // the users' bias column is a constant 1: its gradient is masked out
      const userMask = tf.tensor1d(Array.from({ length: D }, (_, c) => (o.itemBias && c === o.factors ? 0 : 1)));
      const B = o.batchSize;
      const bu = new Int32Array(B);
      const bp = new Int32Array(B);
      const C = o.negativeCandidates;
      const bn = new Int32Array(B * C);
      const epochs: EpochReport[] = [];
      const sync = (): BprFactors => ({ ...f0, userFactors: U.dataSync() as Float32Array, itemFactors: V.dataSync() as Float32Array });
      // the sampler draws positives (and popularity negatives) from the confidence table; rows stay train's CSR
      const table = positiveTable(train, o.confidence);
      const drawFrom: InteractionMatrix = { ...train, userOf: table.userOf, indices: table.indices, nnz: table.size };
      try {
        for (let e = start; e < o.epochs; e++) {
          const t0 = performance.now();
          const lr = epochLearningRate(o, e);
          const sampler = createTripleSampler(drawFrom, o.negatives, o.verifyNegatives, epochSeed(o.seed, e, 0), C);
          let stats = tf.zeros([2]);
          let drawn = 0;
          let used = 0;
          while (drawn < train.nnz) {
            const want = Math.min(B, train.nnz - drawn);
            const n = sampler.fill(bu.subarray(0, want), bp.subarray(0, want), bn.subarray(0, want * C));
            drawn += want;
            used += n;
            if (n === 0) continue;
            const next = tf.tidy(() => {
              const ui = tf.tensor1d(bu.subarray(0, n), 'int32');
              const pi = tf.tensor1d(bp.subarray(0, n), 'int32');
              const u = tf.gather(U, ui);
              // dynamic negative sampling: of C candidates per triple keep the one the user scores highest
              const ni_ = C === 1
                ? tf.tensor1d(bn.subarray(0, n), 'int32')
                : ((): ReturnType<Tf['tensor1d']> => {
                  const cands = tf.tensor1d(bn.subarray(0, n * C), 'int32');
                  const scores = tf.sum(tf.mul(tf.expandDims(u, 1), tf.reshape(tf.gather(V, cands), [n, C, D])), 2);
                  // flat position row·C + argmax (a plain gather: every backend has it, unlike batched gather)
                  const at = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(C, 'int32')), tf.cast(tf.argMax(scores, 1), 'int32'));
                  return tf.gather(cands, at);
                })();
              const p = tf.gather(V, pi);
              const q = tf.gather(V, ni_);
              const diff = tf.sub(p, q);
              const x = tf.sum(tf.mul(u, diff), 1);
              const z = tf.reshape(tf.sigmoid(tf.neg(x)), [n, 1]);
              const gu = tf.mul(tf.sub(tf.mul(z, diff), tf.mul(o.regularization, u)), userMask);
              const zu = tf.mul(z, u);
              const gp = tf.sub(zu, tf.mul(o.regularization, p));
              const gq = tf.sub(tf.neg(zu), tf.mul(o.regularization, q));
              const dU = tf.scatterND(tf.reshape(ui, [n, 1]), gu, [nu, D]);
              const dV = tf.scatterND(tf.reshape(tf.concat([pi, ni_]), [2 * n, 1]), tf.concat([gp, gq]), [ni, D]);
              U.assign(tf.add(U, tf.mul(lr, dU)));
              V.assign(tf.add(V, tf.mul(lr, dV)));
              const batchStats = tf.stack([tf.sum(tf.cast(tf.greater(x, 0), 'float32')), tf.sum(tf.softplus(tf.neg(x)))]);
              return tf.add(stats, batchStats);
            });
            stats.dispose();
            stats = next;
          }
          const [correct, lossSum] = stats.dataSync() as Float32Array;
          stats.dispose();
          const seconds = (performance.now() - t0) / 1000;
          const report: EpochReport = {
            epoch: e + 1, samples: train.nnz, skipped: train.nnz - used, seconds, samplesPerSecond: seconds > 0 ? train.nnz / seconds : 0,
            auc: used > 0 ? correct! / used : 0, loss: used > 0 ? lossSum! / used : 0,
          };
          epochs.push(report);
          fit.onEpoch?.(report);
          const every = fit.checkpoint?.every ?? 1;
          if (fit.checkpoint && (e + 1) % every === 0) {
            await saveFactors(sync(), join(fit.checkpoint.dir, `epoch-${String(e + 1).padStart(4, '0')}`), o, backend, { epoch: e + 1, checkpoint: true });
          }
        }
        factors.set(sync());
      } finally {
        U.dispose();
        V.dispose();
        userMask.dispose();
      }
      return { backend, epochs, seconds: (performance.now() - started) / 1000 };
    },
    ...factors.serving,
  };
  return model;
}
