import hnswlib from 'hnswlib-node';
import { checkK, checkVector, type Neighbor, type PairingIndex } from './pairing.js';

export interface HnswIndexOptions {
  readonly dims: number;
  /** Initial capacity (default 1024); doubles when full. */
  readonly capacity?: number;
  /** Graph degree M (default 16). */
  readonly m?: number;
  /** Build-time candidate list (default 200). */
  readonly efConstruction?: number;
  /** Query-time candidate list (default 64; raised to k when k is larger). */
  readonly ef?: number;
  readonly seed?: number;
}

/** The HNSW index also lets its query-time ef be tuned (recall against speed). */
export interface HnswIndex extends PairingIndex {
  readonly kind: 'hnsw';
  setEf(ef: number): void;
}

/** Approximate cosine KNN over hnswlib-node, with insert, in-place update and delete (slots of deleted users are reused). */
export function createHnswIndex(options: HnswIndexOptions): HnswIndex {
  const { dims } = options;
  const m = options.m ?? 16;
  const efConstruction = options.efConstruction ?? 200;
  let ef = options.ef ?? 64;
  let capacity = options.capacity ?? 1024;
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  for (const [name, v] of [['m', m], ['efConstruction', efConstruction], ['ef', ef], ['capacity', capacity]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const index = new hnswlib.HierarchicalNSW('cosine', dims);
  index.initIndex({ maxElements: capacity, m, efConstruction, randomSeed: options.seed ?? 100, allowReplaceDeleted: true });
  index.setEf(ef);
  const labelOf = new Map<string, number>();
  const idOf = new Map<number, string>();
  let nextLabel = 0;
  let deleted = 0;

  const search = (vector: Float32Array, k: number, exclude?: ReadonlySet<string>): Neighbor[] => {
    checkVector(vector, dims);
    checkK(k);
    const kk = Math.min(k, labelOf.size - (exclude ? [...exclude].filter((id) => labelOf.has(id)).length : 0));
    if (kk <= 0) return [];
    index.setEf(Math.max(ef, kk));
    const filter = exclude && exclude.size > 0 ? (label: number) => !exclude.has(idOf.get(label)!) : undefined;
    const res = index.searchKnn(Array.from(vector), kk, filter);
    return res.neighbors.map((label, i) => ({ id: idOf.get(label)!, score: 1 - res.distances[i]! }));
  };

  return {
    kind: 'hnsw',
    dims,
    setEf(value) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`ef must be a positive integer, got ${value}`);
      ef = value;
    },
    get size() {
      return labelOf.size;
    },
    has: (id) => labelOf.has(id),
    upsert(id, vector) {
      checkVector(vector, dims);
      const existing = labelOf.get(id);
      if (existing !== undefined) {
        index.addPoint(Array.from(vector), existing);
        return;
      }
      const label = nextLabel++;
      if (deleted > 0) {
        index.addPoint(Array.from(vector), label, true);
        deleted--;
      } else {
        if (index.getCurrentCount() >= capacity) {
          capacity *= 2;
          index.resizeIndex(capacity);
        }
        index.addPoint(Array.from(vector), label);
      }
      labelOf.set(id, label);
      idOf.set(label, id);
    },
    remove(id) {
      const label = labelOf.get(id);
      if (label === undefined) return false;
      index.markDelete(label);
      labelOf.delete(id);
      idOf.delete(label);
      deleted++;
      return true;
    },
    query: (vector, k, opts) => search(vector, k, opts?.exclude),
    async queryMany(queries, k, excludeSelf) {
      if (queries.length % dims !== 0) throw new RangeError(`queries length ${queries.length} is not a multiple of ${dims}`);
      const out: Neighbor[][] = [];
      for (let q = 0; q < queries.length / dims; q++) {
        const self = excludeSelf?.[q];
        out.push(search(queries.subarray(q * dims, (q + 1) * dims), k, self === undefined ? undefined : new Set([self])));
      }
      return out;
    },
    close: async () => {},
  };
}
