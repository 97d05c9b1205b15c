import type { Vocabulary } from './vocabulary.js';

/** Format version of saved embeddings; bump when the binary layout or meaning changes. */
export const EMBEDDINGS_FORMAT_VERSION = 1;

/** Learned item vectors, one row per vocabulary entry, L2-normalised (zero rows stay zero). */
export interface ItemEmbeddings {
  readonly method: string;
  readonly dims: number;
  readonly vocabulary: Vocabulary;
  /** numItems × dims, row-major. */
  readonly vectors: Float32Array;
  /** Training parameters and measurements, saved in the manifest. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** The row of `id`, or undefined when the item is out of vocabulary. */
export function vectorOf(emb: ItemEmbeddings, id: string): Float32Array | undefined {
  const i = emb.vocabulary.indexOf(id);
  return i === undefined ? undefined : emb.vectors.subarray(i * emb.dims, (i + 1) * emb.dims);
}

export function normalizeRows(v: Float32Array, dims: number): void {
  for (let o = 0; o < v.length; o += dims) {
    let s = 0;
    for (let c = 0; c < dims; c++) s += v[o + c]! * v[o + c]!;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let c = 0; c < dims; c++) v[o + c]! *= inv;
  }
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : d / Math.sqrt(na * nb);
}
