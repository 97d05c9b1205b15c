import { createRng } from '../random.js';
import type { InteractionMatrix } from '../interactions.js';
import type { BprFactors, BprOptions, Ranked } from './types.js';

/**
 * Initial factors for `train`: uniform in ±0.5/factors (implicit's init), item biases 0, the users' bias column 1.
 * With `warm`, users and items it knows (by id, same factors and bias layout) start from its values.
 * `alloc` provides the two arrays (default: plain Float32Arrays); the CPU kernel puts them in shared WebAssembly memory.
 */
export function initFactors(
  train: InteractionMatrix,
  o: BprOptions,
  warm: BprFactors | undefined,
  alloc: (userLength: number, itemLength: number) => { U: Float32Array; V: Float32Array } = (a, b) => ({ U: new Float32Array(a), V: new Float32Array(b) }),
): BprFactors {
  const nf = o.factors;
  const stride = nf + (o.itemBias ? 1 : 0);
  const nu = train.users.ids.length;
  const ni = train.items.ids.length;
  const { U, V } = alloc(nu * stride, ni * stride);
  const rng = createRng(o.seed);
  for (let u = 0; u < nu; u++) {
    for (let c = 0; c < nf; c++) U[u * stride + c] = (rng.next() - 0.5) / nf;
    if (o.itemBias) U[u * stride + nf] = 1;
  }
  for (let i = 0; i < ni; i++) for (let c = 0; c < nf; c++) V[i * stride + c] = (rng.next() - 0.5) / nf;
  if (warm) {
    if (warm.factors !== nf || warm.itemBias !== o.itemBias) {
      throw new RangeError(`warm start has ${warm.factors} factors (bias ${warm.itemBias}); options want ${nf} (bias ${o.itemBias})`);
    }
    train.users.ids.forEach((id, u) => {
      const w = warm.users.indexOf(id);
      if (w !== undefined) U.set(warm.userFactors.subarray(w * stride, (w + 1) * stride), u * stride);
    });
    train.items.ids.forEach((id, i) => {
      const w = warm.items.indexOf(id);
      if (w !== undefined) V.set(warm.itemFactors.subarray(w * stride, (w + 1) * stride), i * stride);
    });
  }
  return { factors: nf, itemBias: o.itemBias, stride, users: train.users, items: train.items, userFactors: U, itemFactors: V };
}

/** Top `k` of `scores` (−Infinity entries never chosen), best first. Reuses no memory across calls; O(n log k). */
export function topK(scores: Float32Array, k: number): Ranked {
  const heapI = new Int32Array(k);
  const heapS = new Float32Array(k);
  let size = 0;
  // min-heap on score: the root is the weakest of the current best k
  const siftDown = (p: number): void => {
    for (;;) {
      const l = 2 * p + 1;
      if (l >= size) return;
      const r = l + 1;
      const m = r < size && heapS[r]! < heapS[l]! ? r : l;
      if (heapS[m]! >= heapS[p]!) return;
      const ts = heapS[p]!;
      const ti = heapI[p]!;
      heapS[p] = heapS[m]!;
      heapI[p] = heapI[m]!;
      heapS[m] = ts;
      heapI[m] = ti;
      p = m;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s === -Infinity) continue;
    if (size < k) {
      let p = size++;
      heapS[p] = s;
      heapI[p] = i;
      while (p > 0) {
        const q = (p - 1) >> 1;
        if (heapS[q]! <= heapS[p]!) break;
        const ts = heapS[p]!;
        const ti = heapI[p]!;
        heapS[p] = heapS[q]!;
        heapI[p] = heapI[q]!;
        heapS[q] = ts;
        heapI[q] = ti;
        p = q;
      }
    } else if (k > 0 && s > heapS[0]!) {
      heapS[0] = s;
      heapI[0] = i;
      siftDown(0);
    }
  }
  const order = Array.from({ length: size }, (_, j) => j).sort((a, b) => heapS[b]! - heapS[a]! || heapI[a]! - heapI[b]!);
  return { items: Int32Array.from(order, (j) => heapI[j]!), scores: Float32Array.from(order, (j) => heapS[j]!) };
}

/** Scores of every item for user `u` (into `out`), with the items of `exclude`'s row set to −Infinity. */
export function scoreUser(f: BprFactors, u: number, out: Float32Array, exclude?: InteractionMatrix): Float32Array {
  const { stride, userFactors: U, itemFactors: V } = f;
  const ni = f.items.ids.length;
  const uo = u * stride;
  for (let i = 0; i < ni; i++) {
    const io = i * stride;
    let s = 0;
    for (let c = 0; c < stride; c++) s += U[uo + c]! * V[io + c]!;
    out[i] = s;
  }
  if (exclude && u < exclude.users.ids.length) for (let p = exclude.indptr[u]!; p < exclude.indptr[u + 1]!; p++) out[exclude.indices[p]!] = -Infinity;
  return out;
}

export function recommendFromFactors(f: BprFactors, users: ArrayLike<number>, k: number, exclude?: InteractionMatrix): Ranked[] {
  const nu = f.users.ids.length;
  const scores = new Float32Array(f.items.ids.length);
  const out: Ranked[] = [];
  for (let j = 0; j < users.length; j++) {
    const u = users[j]!;
    if (!Number.isInteger(u) || u < 0 || u >= nu) throw new RangeError(`user index ${u} outside 0..${nu - 1}`);
    out.push(topK(scoreUser(f, u, scores, exclude), k));
  }
  return out;
}

/** Cosine of the latent columns (the bias column left out). */
export function similarFromFactors(f: BprFactors, item: number, k: number): Ranked {
  const { stride, factors: nf, itemFactors: V } = f;
  const ni = f.items.ids.length;
  if (!Number.isInteger(item) || item < 0 || item >= ni) throw new RangeError(`item index ${item} outside 0..${ni - 1}`);
  const norm = (i: number): number => {
    let s = 0;
    for (let c = 0; c < nf; c++) s += V[i * stride + c]! ** 2;
    return Math.sqrt(s) || 1;
  };
  const qn = norm(item);
  const scores = new Float32Array(ni);
  for (let i = 0; i < ni; i++) {
    let s = 0;
    for (let c = 0; c < nf; c++) s += V[i * stride + c]! * V[item * stride + c]!;
    scores[i] = s / (qn * norm(i));
  }
  scores[item] = -Infinity;
  return topK(scores, k);
}
