/** A user found near another, with the cosine similarity of their taste vectors. */
export interface Neighbor {
  readonly id: string;
  readonly score: number;
}

export interface QueryOptions {
  /** Ids never returned (the user themself, blocked users). */
  readonly exclude?: ReadonlySet<string>;
}

/**
 * Cosine K-nearest-neighbour index over taste vectors, keyed by user id. Implementations:
 * exact (blocked brute force, multi-threaded batches) and HNSW (approximate, incremental).
 * Lifecycle: create, upsert/remove any number of times, query, then `close()` once.
 */
export interface PairingIndex {
  readonly kind: 'exact' | 'hnsw';
  readonly dims: number;
  /** Number of live (not removed) users. */
  readonly size: number;
  has(id: string): boolean;
  /** Inserts the user, or replaces their vector. Throws RangeError on a zero or wrong-sized vector. */
  upsert(id: string, vector: Float32Array): void;
  /** Removes the user; returns false when they were not there. */
  remove(id: string): boolean;
  /** Up to k neighbours, best first. */
  query(vector: Float32Array, k: number, options?: QueryOptions): Neighbor[];
  /**
   * Neighbours of many vectors at once (rows of `queries`, m × dims), best first; `excludeSelf[i]`
   * is left out of row i's answer. The exact index spreads this over worker threads.
   */
  queryMany(queries: Float32Array, k: number, excludeSelf?: readonly (string | undefined)[]): Promise<Neighbor[][]>;
  close(): Promise<void>;
}

export function checkVector(v: Float32Array, dims: number): number {
  if (v.length !== dims) throw new RangeError(`vector has ${v.length} dims, expected ${dims}`);
  let n = 0;
  for (let i = 0; i < dims; i++) n += v[i]! * v[i]!;
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError('vector must be non-zero and finite');
  return Math.sqrt(n);
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be an integer >= 0, got ${k}`);
}
