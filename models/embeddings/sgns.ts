import { normalizeRows } from './embeddings.js';
import { createRng } from '../random.js';
import type { Baskets } from './vocabulary.js';

export interface SgnsParams {
  readonly dims: number;
  readonly epochs: number;
  /** Negative samples per positive pair. */
  readonly negatives: number;
  /** Context items drawn per target occurrence from the same basket (the whole basket is the window). */
  readonly contexts: number;
  readonly learningRate: number;
  /** Frequent-item subsampling threshold (word2vec's t); 0 disables it. */
  readonly subsample: number;
  readonly seed: number;
}

const NEG_TABLE = 1 << 20;

/**
 * Skip-gram with negative sampling over baskets (item2vec, Barkan & Koenigstein 2016): every item
 * predicts items drawn from its own basket, against negatives drawn from the unigram^0.75 law.
 * Returns input vectors + output vectors, normalised.
 */
export function trainSgns(baskets: Baskets, numItems: number, p: SgnsParams, log: (msg: string) => void): Float32Array {
  const rng = createRng(p.seed);
  const d = p.dims;
  const win = new Float32Array(numItems * d);
  for (let i = 0; i < win.length; i++) win[i] = (rng.next() - 0.5) / d;
  const wout = new Float32Array(numItems * d);
  const freq = new Float64Array(numItems);
  for (const it of baskets.items) freq[it]! += 1;
  const table = new Int32Array(NEG_TABLE);
  let z = 0;
  for (let i = 0; i < numItems; i++) z += Math.pow(freq[i]!, 0.75);
  let cum = 0;
  let j = 0;
  for (let i = 0; i < numItems; i++) {
    cum += Math.pow(freq[i]!, 0.75) / z;
    while (j < NEG_TABLE && j / NEG_TABLE < cum) table[j++] = i;
  }
  while (j < NEG_TABLE) table[j++] = numItems - 1;
  const total = baskets.items.length;
  const keep = new Float64Array(numItems);
  for (let i = 0; i < numItems; i++) {
    const f = freq[i]! / total;
    keep[i] = p.subsample > 0 ? Math.min(1, Math.sqrt(p.subsample / f) + p.subsample / f) : 1;
  }
  const grad = new Float32Array(d);
  const steps = p.epochs * total;
  let step = 0;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    let loss = 0;
    let pairs = 0;
    for (let b = 0; b < baskets.length; b++) {
      const lo = baskets.offsets[b]!;
      const len = baskets.offsets[b + 1]! - lo;
      if (len < 2) continue;
      for (let k = 0; k < len; k++) {
        step++;
        const target = baskets.items[lo + k]!;
        if (keep[target]! < 1 && rng.next() > keep[target]!) continue;
        const lr = Math.max(p.learningRate * 1e-4, p.learningRate * (1 - step / steps));
        const ti = target * d;
        for (let c = 0; c < p.contexts; c++) {
          let ctxPos = rng.int(len - 1);
          if (ctxPos >= k) ctxPos++;
          const ctx = baskets.items[lo + ctxPos]!;
          grad.fill(0);
          for (let s = 0; s <= p.negatives; s++) {
            const o = s === 0 ? ctx : table[rng.int(NEG_TABLE)]!;
            if (s > 0 && o === ctx) continue;
            const label = s === 0 ? 1 : 0;
            const oi = o * d;
            let dot = 0;
            for (let q = 0; q < d; q++) dot += win[ti + q]! * wout[oi + q]!;
            const sig = dot > 10 ? 1 : dot < -10 ? 0 : 1 / (1 + Math.exp(-dot));
            loss -= label ? Math.log(sig + 1e-7) : Math.log(1 - sig + 1e-7);
            const g = (label - sig) * lr;
            for (let q = 0; q < d; q++) {
              grad[q]! += g * wout[oi + q]!;
              wout[oi + q]! += g * win[ti + q]!;
            }
          }
          for (let q = 0; q < d; q++) win[ti + q]! += grad[q]!;
          pairs++;
        }
      }
    }
    log(`sgns: epoch ${epoch + 1}/${p.epochs}, mean loss ${(loss / Math.max(1, pairs)).toFixed(4)}`);
  }
  for (let i = 0; i < win.length; i++) win[i]! += wout[i]!;
  normalizeRows(win, d);
  return win;
}
