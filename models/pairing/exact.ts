import { availableParallelism } from 'node:os';
import { startWorker } from '../worker.js';
import type { TopKWorkerData } from './exact-worker.js';
import { topKBlocked } from './kernel.js';
import { checkK, checkVector, type Neighbor, type PairingIndex } from './pairing.js';

export interface ExactIndexOptions {
  readonly dims: number;
  /** Worker threads for queryMany (default: available parallelism); 1 runs in the calling thread. */
  readonly threads?: number;
  /** Initial row capacity (default 1024); grows by doubling. */
  readonly capacity?: number;
  /** Batches smaller than this run in the calling thread (default 256). */
  readonly minParallelQueries?: number;
}

/** Exact cosine top-K by blocked brute force over unit vectors in one Float32Array. */
export function createExactIndex(options: ExactIndexOptions): PairingIndex {
  const dims = options.dims;
  const threads = options.threads ?? Math.max(1, availableParallelism());
  const minParallel = options.minParallelQueries ?? 256;
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  let capacity = Math.max(1, options.capacity ?? 1024);
  if (!Number.isInteger(capacity)) throw new RangeError('capacity must be an integer');
  let data = new Float32Array(new SharedArrayBuffer(capacity * dims * 4));
  let alive = new Uint8Array(new SharedArrayBuffer(capacity));
  const ids: (string | undefined)[] = [];
  const slotOf = new Map<string, number>();
  const free: number[] = [];
  let rows = 0;

  const grow = (): void => {
    capacity *= 2;
    const nd = new Float32Array(new SharedArrayBuffer(capacity * dims * 4));
    nd.set(data);
    data = nd;
    const na = new Uint8Array(new SharedArrayBuffer(capacity));
    na.set(alive);
    alive = na;
  };

  const collect = (outIdx: Int32Array, outScore: Float32Array, m: number, k: number, exclude?: ReadonlySet<string>, want = k): Neighbor[][] => {
    const res: Neighbor[][] = [];
    for (let q = 0; q < m; q++) {
      const row: Neighbor[] = [];
      for (let t = 0; t < k && row.length < want; t++) {
        const r = outIdx[q * k + t]!;
        if (r < 0) break;
        const id = ids[r]!;
        if (exclude?.has(id)) continue;
        row.push({ id, score: outScore[q * k + t]! });
      }
      res.push(row);
    }
    return res;
  };

  const normalized = (v: Float32Array): Float32Array => {
    const norm = checkVector(v, dims);
    return v.map((x) => x / norm);
  };

  return {
    kind: 'exact',
    dims,
    get size() {
      return slotOf.size;
    },
    has: (id) => slotOf.has(id),
    upsert(id, vector) {
      const unit = normalized(vector);
      let slot = slotOf.get(id);
      if (slot === undefined) {
        slot = free.pop() ?? rows++;
        if (slot >= capacity) grow();
        slotOf.set(id, slot);
        ids[slot] = id;
      }
      data.set(unit, slot * dims);
      alive[slot] = 1;
    },
    remove(id) {
      const slot = slotOf.get(id);
      if (slot === undefined) return false;
      slotOf.delete(id);
      alive[slot] = 0;
      ids[slot] = undefined;
      free.push(slot);
      return true;
    },
    query(vector, k, opts) {
      checkK(k);
      const q = normalized(vector);
      const kk = Math.min(slotOf.size, k + (opts?.exclude?.size ?? 0));
      const outIdx = new Int32Array(kk);
      const outScore = new Float32Array(kk);
      topKBlocked(data, alive, rows, dims, q, Int32Array.of(-1), 0, 1, kk, outIdx, outScore);
      return collect(outIdx, outScore, 1, kk, opts?.exclude, k)[0]!;
    },
    async queryMany(queries, k, excludeSelf) {
      checkK(k);
      if (queries.length % dims !== 0) throw new RangeError(`queries length ${queries.length} is not a multiple of ${dims}`);
      const m = queries.length / dims;
      const qs = new Float32Array(new SharedArrayBuffer(queries.length * 4));
      for (let q = 0; q < m; q++) qs.set(normalized(queries.subarray(q * dims, (q + 1) * dims)), q * dims);
      const skip = new Int32Array(new SharedArrayBuffer(m * 4)).fill(-1);
      excludeSelf?.forEach((id, q) => {
        const s = id === undefined ? undefined : slotOf.get(id);
        if (s !== undefined) skip[q] = s;
      });
      const kk = Math.min(k, slotOf.size);
      const outIdx = new Int32Array(new SharedArrayBuffer(Math.max(1, m * kk) * 4));
      const outScore = new Float32Array(new SharedArrayBuffer(Math.max(1, m * kk) * 4));
      const nThreads = m < minParallel ? 1 : Math.min(threads, m);
      if (nThreads === 1) {
        topKBlocked(data, alive, rows, dims, qs, skip, 0, m, kk, outIdx, outScore);
      } else {
        const per = Math.ceil(m / nThreads);
        await Promise.all(
          Array.from({ length: nThreads }, (_, t) => {
            const workerData: TopKWorkerData = {
              data: data.buffer, alive: alive.buffer, n: rows, d: dims, queries: qs.buffer, skip: skip.buffer,
              qStart: t * per, qEnd: Math.min(m, (t + 1) * per), k: kk, outIdx: outIdx.buffer, outScore: outScore.buffer,
            };
            return new Promise<void>((resolve, reject) => {
              const w = startWorker<TopKWorkerData>(import.meta.url, './exact-worker', workerData);
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exact top-k worker exited with ${code}`))));
            });
          }),
        );
      }
      return collect(outIdx, outScore, m, kk);
    },
    close: async () => {},
  };
}
