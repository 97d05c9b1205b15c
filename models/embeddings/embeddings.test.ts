import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cosine, vectorOf } from './embeddings.js';
import { symmetricEigen } from './linalg.js';
import { createRng } from '../random.js';
import { randomizedSvd } from './rsvd.js';
import type { Csr } from './sparse.js';
import { loadEmbeddings, saveEmbeddings, EmbeddingsFormatError } from './store.js';
import { createEmbeddingTrainer } from './trainer.js';
import { encodeBaskets } from './vocabulary.js';

/** Baskets drawn from `groups` disjoint genres of `size` items each. */
function genreBaskets(groups: number, size: number, perGroup: number, len: number, seed: number): string[][] {
  const rng = createRng(seed);
  const out: string[][] = [];
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < perGroup; b++) out.push(Array.from({ length: len }, () => `g${g}-i${rng.int(size)}`));
  }
  return out;
}

function denseToCsr(a: number[][]): Csr {
  const n = a.length;
  const indptr = new Float64Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      if (v !== 0) {
        indices.push(j);
        data.push(v);
      }
    });
    indptr[i + 1] = indices.length;
  });
  return { n, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
}

describe('randomizedSvd', () => {
  it('recovers the top singular values of a symmetric matrix (checked against Jacobi on the dense matrix)', () => {
    const rng = createRng(3);
    const n = 40;
    const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        if (rng.next() < 0.2 || i === j) {
          const v = Math.round(rng.next() * 4);
          a[i]![j] = v;
          a[j]![i] = v;
        }
      }
    }
    const dense = Float64Array.from(a.flat());
    const exact = [...symmetricEigen(dense, n).values].map(Math.abs).sort((x, y) => y - x);
    const { s, u } = randomizedSvd(denseToCsr(a), 5, { oversample: 10, powerIterations: 4, rng: createRng(1) });
    for (let c = 0; c < 5; c++) expect(s[c]!).toBeCloseTo(exact[c]!, 3);
    // Columns of U are orthonormal.
    for (let p = 0; p < 5; p++) {
      for (let q = 0; q < 5; q++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i * 5 + p]! * u[i * 5 + q]!;
        expect(d).toBeCloseTo(p === q ? 1 : 0, 6);
      }
    }
  });
});

describe.each(['ppmi-svd', 'sgns'] as const)('createEmbeddingTrainer(%s)', (method) => {
  const baskets = genreBaskets(4, 30, 60, 12, 7);
  const emb = createEmbeddingTrainer({ method, dims: 16, minCount: 1, seed: 5, sgns: { subsample: 0 } }).train(baskets);

  it('places items of the same genre closer than items of different genres', () => {
    let within = 0;
    let across = 0;
    let nw = 0;
    let na = 0;
    for (let g = 0; g < 4; g++) {
      for (let i = 0; i < 10; i++) {
        const a = vectorOf(emb, `g${g}-i${i}`)!;
        within += cosine(a, vectorOf(emb, `g${g}-i${i + 10}`)!);
        nw++;
        across += cosine(a, vectorOf(emb, `g${(g + 1) % 4}-i${i}`)!);
        na++;
      }
    }
    expect(within / nw).toBeGreaterThan(across / na + 0.3);
  });

  it('is deterministic for a seed', () => {
    const again = createEmbeddingTrainer({ method, dims: 16, minCount: 1, seed: 5, sgns: { subsample: 0 } }).train(baskets);
    expect(again.vectors).toEqual(emb.vectors);
  });
});

describe('encodeBaskets', () => {
  it('drops items below minCount and deduplicates within a basket', () => {
    const { vocabulary, baskets } = encodeBaskets([['a', 'b', 'a'], ['a', 'c'], ['b']], 2);
    expect([...vocabulary.ids].sort()).toEqual(['a', 'b']);
    expect(baskets.offsets[1]! - baskets.offsets[0]!).toBe(2);
    expect(baskets.offsets[2]! - baskets.offsets[1]!).toBe(1);
    expect(vocabulary.counts[vocabulary.indexOf('a')!]).toBe(2);
  });
});

describe('createEmbeddingTrainer options', () => {
  it('rejects invalid options at once', () => {
    expect(() => createEmbeddingTrainer({ dims: 0 })).toThrow(RangeError);
    expect(() => createEmbeddingTrainer({ method: 'glove' as never })).toThrow(/unknown embedding method/);
    expect(() => createEmbeddingTrainer({ ppmi: { shift: 0.5 } })).toThrow(RangeError);
  });
});

describe('saveEmbeddings / loadEmbeddings', () => {
  it('round-trips and detects tampering', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emb-'));
    try {
      const emb = createEmbeddingTrainer({ dims: 8, minCount: 1 }).train(genreBaskets(2, 10, 10, 5, 1));
      const manifest = await saveEmbeddings(emb, dir);
      const { embeddings, manifest: m2 } = await loadEmbeddings(dir);
      expect(m2.version).toBe(manifest.version);
      expect(embeddings.vectors).toEqual(emb.vectors);
      expect(embeddings.vocabulary.ids).toEqual(emb.vocabulary.ids);
      expect(embeddings.vocabulary.indexOf(emb.vocabulary.ids[3]!)).toBe(3);
      await writeFile(join(dir, 'ids.json'), JSON.stringify([...emb.vocabulary.ids].reverse()));
      await expect(loadEmbeddings(dir)).rejects.toThrow(EmbeddingsFormatError);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
