import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../models/bpr/index.js';
import { saveEmbeddings, vocabularyFromIds } from '../models/embeddings/index.js';
import { createIdMap } from '../models/interactions.js';
import { EMBEDDINGS_BACKEND, WrongKindError } from './artifacts.js';
import { createModelRegistry } from './registry.js';
import { publishSavedModel } from './saved.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'registry-saved-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function bpr(dir: string, scale: number): Promise<void> {
  await saveFactors(
    {
      factors: 1, itemBias: false, stride: 1, users: createIdMap(['u1']), items: createIdMap(['p1', 'p2']),
      userFactors: Float32Array.of(scale), itemFactors: Float32Array.of(1, -1),
    },
    dir, { ...DEFAULT_BPR_OPTIONS, factors: 1, itemBias: false }, 'cpu-wasm-simd',
    // what `buddies offline train-bpr` adds to the manifest
    { dataPath: '/data/user_artists.dat', dataFormat: 'lastfm', dataHash: '0123456789abcdef', interactions: 2, metrics: { trainAuc: 0.75, trainLoss: 0.4, note: 'text' } },
  );
}

describe('publishSavedModel', () => {
  it('takes params, metrics, backend and data from a BPR manifest, and the version in production as parent', async () => {
    const registry = createModelRegistry(join(work, 'models'));
    await bpr(join(work, 'a'), 1);
    await bpr(join(work, 'b'), 2);
    const a = await publishSavedModel(registry, 'BPR', join(work, 'a'));
    expect(a).toMatchObject({
      kind: 'BPR', backend: 'cpu-wasm-simd', metrics: { trainAuc: 0.75, trainLoss: 0.4 }, parent: null,
      params: { factors: 1, itemBias: false, epochs: DEFAULT_BPR_OPTIONS.epochs },
      dataWindow: { source: '/data/user_artists.dat', from: null, to: null, records: 2, hash: '0123456789abcdef' },
    });
    expect(a.metrics).not.toHaveProperty('note');
    const b1 = await publishSavedModel(registry, 'BPR', join(work, 'b'));
    expect(b1.parent).toBeNull(); // nothing was in production yet
    await registry.markProduction('BPR', a.version);
    await rm(b1.dir, { recursive: true });
    const b2 = await publishSavedModel(registry, 'BPR', join(work, 'b'));
    expect(b2).toMatchObject({ version: b1.version, parent: a.version });
  });

  it('takes method, size and trainer figures from saved embeddings, and refuses the wrong kind', async () => {
    const registry = createModelRegistry(join(work, 'models'));
    const dir = join(work, 'emb');
    await saveEmbeddings({ method: 'sgns', dims: 2, vocabulary: vocabularyFromIds(['t1', 't2'], Int32Array.of(2, 2)), vectors: Float32Array.of(1, 0, 0, 1), params: { baskets: 7, seconds: 0.5, epochs: 5 } }, dir);
    const v = await publishSavedModel(registry, 'TRACK_EMBEDDINGS', dir);
    expect(v).toMatchObject({ backend: EMBEDDINGS_BACKEND, params: { method: 'sgns', dims: 2, epochs: 5 }, metrics: { items: 2, dims: 2, baskets: 7, trainSeconds: 0.5 }, dataWindow: null });
    await expect(publishSavedModel(registry, 'BPR', dir)).rejects.toThrow(WrongKindError);
  });
});
