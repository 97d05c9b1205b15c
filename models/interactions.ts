import { createRng } from './random.js';

/** Dense integer ids for string ids, in first-seen order. */
export interface IdMap {
  /** `ids[index]` is the string id of that index. */
  readonly ids: readonly string[];
  /** Index of a string id, or undefined when unknown. */
  indexOf(id: string): number | undefined;
}

export function createIdMap(ids: readonly string[]): IdMap {
  const index = new Map<string, number>();
  ids.forEach((id, i) => {
    if (index.has(id)) throw new RangeError(`duplicate id ${JSON.stringify(id)}`);
    index.set(id, i);
  });
  return { ids, indexOf: (id) => index.get(id) };
}

/**
 * Users × items interactions in CSR form. Row `u` holds the items of user `u` in
 * `indices[indptr[u] .. indptr[u+1])`, sorted ascending and unique (duplicates of a pair are summed),
 * with their weights in the same positions. `userOf[j]` is the row of entry `j` (the COO view that samplers use).
 */
export interface InteractionMatrix {
  readonly users: IdMap;
  readonly items: IdMap;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly weights: Float32Array;
  readonly userOf: Int32Array;
  readonly nnz: number;
}

/** Anything that yields `{user, item, weight}` rows (the data loaders' `readInteractions`, or an array). */
export type InteractionSource = AsyncIterable<{ user: string; item: string; weight: number }> | Iterable<{ user: string; item: string; weight: number }>;

/** Collects interaction rows into a CSR matrix; ids are numbered in first-seen order. */
export async function buildInteractionMatrix(rows: InteractionSource): Promise<InteractionMatrix> {
  const users = new Map<string, number>();
  const items = new Map<string, number>();
  let u = new Int32Array(1024);
  let it = new Int32Array(1024);
  let w = new Float32Array(1024);
  let n = 0;
  for await (const r of rows) {
    if (n === u.length) {
      const grow = <T extends Int32Array | Float32Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      u = grow(u);
      it = grow(it);
      w = grow(w);
    }
    let ui = users.get(r.user);
    if (ui === undefined) users.set(r.user, (ui = users.size));
    let ii = items.get(r.item);
    if (ii === undefined) items.set(r.item, (ii = items.size));
    u[n] = ui;
    it[n] = ii;
    w[n] = r.weight;
    n += 1;
  }
  return fromCoo(createIdMap([...users.keys()]), createIdMap([...items.keys()]), u.subarray(0, n), it.subarray(0, n), w.subarray(0, n));
}

/** Builds a CSR matrix from COO triples over known id maps: rows sorted, duplicate pairs summed. */
export function fromCoo(users: IdMap, items: IdMap, rowIdx: Int32Array, colIdx: Int32Array, vals: Float32Array): InteractionMatrix {
  const nUsers = users.ids.length;
  const nItems = items.ids.length;
  const counts = new Int32Array(nUsers + 1);
  for (let j = 0; j < rowIdx.length; j++) {
    const r = rowIdx[j]!;
    const c = colIdx[j]!;
    if (r < 0 || r >= nUsers || c < 0 || c >= nItems) throw new RangeError(`entry (${r}, ${c}) outside ${nUsers} × ${nItems}`);
    counts[r + 1]! += 1;
  }
  for (let r = 0; r < nUsers; r++) counts[r + 1]! += counts[r]!;
  const pos = counts.slice(0, nUsers);
  const cols = new Int32Array(rowIdx.length);
  const ws = new Float32Array(rowIdx.length);
  for (let j = 0; j < rowIdx.length; j++) {
    const p = pos[rowIdx[j]!]!++;
    cols[p] = colIdx[j]!;
    ws[p] = vals[j]!;
  }
  // sort each row and merge duplicates
  const indptr = new Int32Array(nUsers + 1);
  const outCols = new Int32Array(rowIdx.length);
  const outW = new Float32Array(rowIdx.length);
  let nnz = 0;
  const order: number[] = [];
  for (let r = 0; r < nUsers; r++) {
    const a = counts[r]!;
    const b = counts[r + 1]!;
    order.length = 0;
    for (let p = a; p < b; p++) order.push(p);
    order.sort((x, y) => cols[x]! - cols[y]!);
    for (const p of order) {
      if (nnz > indptr[r]! && outCols[nnz - 1] === cols[p]) outW[nnz - 1]! += ws[p]!;
      else {
        outCols[nnz] = cols[p]!;
        outW[nnz] = ws[p]!;
        nnz += 1;
      }
    }
    indptr[r + 1] = nnz;
  }
  const indices = outCols.slice(0, nnz);
  const weights = outW.slice(0, nnz);
  const userOf = new Int32Array(nnz);
  for (let r = 0; r < nUsers; r++) userOf.fill(r, indptr[r]!, indptr[r + 1]!);
  return { users, items, indptr, indices, weights, userOf, nnz };
}

/** True when user `u` has item `i` (binary search in the sorted row). */
export function hasInteraction(m: InteractionMatrix, u: number, i: number): boolean {
  let lo = m.indptr[u]!;
  let hi = m.indptr[u + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = m.indices[mid]!;
    if (v === i) return true;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The items of user `u` (a view into the matrix, sorted). */
export function rowOf(m: InteractionMatrix, u: number): Int32Array {
  return m.indices.subarray(m.indptr[u]!, m.indptr[u + 1]!);
}

/** Per item, how many users have it (the popularity used by baselines, negatives and novelty). */
export function itemCounts(m: InteractionMatrix): Int32Array {
  const c = new Int32Array(m.items.ids.length);
  for (let j = 0; j < m.nnz; j++) c[m.indices[j]!]! += 1;
  return c;
}

export interface HoldoutOptions {
  /** Share of each user's items held out (default 0.2). */
  readonly fraction?: number;
  readonly seed?: number;
  /** Users with fewer items than this keep them all in training (default 2: every test user keeps ≥ 1 training item). */
  readonly minItems?: number;
}

export interface HoldoutSplit {
  readonly train: InteractionMatrix;
  readonly test: InteractionMatrix;
}

/**
 * Seeded per-user holdout: of each user with at least `minItems` items, round(fraction × n) items (at least 1,
 * at most n − 1) chosen uniformly move to `test`. Both halves share the id maps of `m`, so indices agree.
 */
export function holdoutSplit(m: InteractionMatrix, options: HoldoutOptions = {}): HoldoutSplit {
  const fraction = options.fraction ?? 0.2;
  const minItems = options.minItems ?? 2;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`fraction must lie in (0, 1), got ${fraction}`);
  if (!Number.isInteger(minItems) || minItems < 2) throw new RangeError(`minItems must be an integer ≥ 2, got ${minItems}`);
  const rng = createRng(options.seed ?? 42);
  const nUsers = m.users.ids.length;
  const isTest = new Uint8Array(m.nnz);
  let nTest = 0;
  const perm: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const a = m.indptr[u]!;
    const n = m.indptr[u + 1]! - a;
    if (n < minItems) continue;
    const h = Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
    perm.length = 0;
    for (let p = 0; p < n; p++) perm.push(p);
    for (let p = 0; p < h; p++) {
      const q = p + rng.int(n - p);
      const t = perm[p]!;
      perm[p] = perm[q]!;
      perm[q] = t;
      isTest[a + perm[p]!] = 1;
    }
    nTest += h;
  }
  const pick = (flag: number, size: number): InteractionMatrix => {
    const r = new Int32Array(size);
    const c = new Int32Array(size);
    const w = new Float32Array(size);
    let k = 0;
    for (let j = 0; j < m.nnz; j++) {
      if (isTest[j] !== flag) continue;
      r[k] = m.userOf[j]!;
      c[k] = m.indices[j]!;
      w[k] = m.weights[j]!;
      k += 1;
    }
    return fromCoo(m.users, m.items, r, c, w);
  };
  return { train: pick(0, m.nnz - nTest), test: pick(1, nTest) };
}
