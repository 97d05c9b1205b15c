/**
 * One exact top-k thread (started by exact.ts's queryMany through models/worker.ts): runs {@link topKBlocked} for the
 * queries [qStart, qEnd) over the shared rows, writing into the shared outputs, answers `'done'` and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { topKBlocked } from './kernel.js';

/** The shared buffers (views are rebuilt here) and this thread's share of the batch; see {@link topKBlocked}. */
export interface TopKWorkerData {
  /** n × d unit rows (Float32). */
  readonly data: SharedArrayBuffer;
  /** One byte per row, 0 for a deleted one. */
  readonly alive: SharedArrayBuffer;
  readonly n: number;
  readonly d: number;
  /** m × d unit queries (Float32). */
  readonly queries: SharedArrayBuffer;
  /** Per query the row to leave out, or -1 (Int32). */
  readonly skip: SharedArrayBuffer;
  readonly qStart: number;
  readonly qEnd: number;
  readonly k: number;
  /** m × k results (Int32 rows, Float32 scores). */
  readonly outIdx: SharedArrayBuffer;
  readonly outScore: SharedArrayBuffer;
}

const port = parentPort;
if (!port) throw new Error('exact-worker.ts runs as a worker thread (started by exact.ts)');
const w = workerData as TopKWorkerData;
topKBlocked(new Float32Array(w.data), new Uint8Array(w.alive), w.n, w.d, new Float32Array(w.queries), new Int32Array(w.skip),
  w.qStart, w.qEnd, w.k, new Int32Array(w.outIdx), new Float32Array(w.outScore));
port.postMessage('done');
