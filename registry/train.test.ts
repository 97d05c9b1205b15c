import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlaylistPipeline, type PipelinePlaylist } from '../models/pipeline/index.js';
import type { TypedProducer } from '../streams/index.js';
import { EMBEDDINGS_BACKEND, RegistryError } from './artifacts.js';
import { createModelRegistry } from './registry.js';
import { publishTrackEmbeddings, trackEmbeddingMetrics, trainTrackEmbeddings } from './train.js';

/** 40 playlists over two taste groups of 12 tracks each, plus a track heard once (below the trainer's minCount). */
function playlists(): PipelinePlaylist[] {
  return Array.from({ length: 40 }, (_, i) => {
    const g = i % 2;
    const tracks = Array.from({ length: 6 }, (_, j) => `t:${g}:${(i + j * 5) % 12}`);
    return { id: `p${i}`, owner: `u${i % 10}`, tracks: i === 0 ? [...tracks, 't:once'] : tracks, followers: i };
  });
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'registry-train-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const producer = (): TypedProducer & { count: number } => {
  const p = { count: 0, connect: async () => {}, disconnect: async () => {}, send: async () => ((p.count += 1), []) };
  return p;
};

describe('trainTrackEmbeddings', () => {
  it('learns the embeddings the recommendation pipeline learns from the same playlists and options', async () => {
    const ps = playlists();
    for (const method of ['ppmi-svd', 'sgns'] as const) {
      const pipeline = await buildPlaylistPipeline(ps, { embeddings: { dims: 8, method }, threads: 1 });
      try {
        const emb = trainTrackEmbeddings({ playlists: ps, dims: 8, method });
        expect(emb.method).toBe(method);
        expect(emb.vocabulary.ids).toEqual(pipeline.embeddings.vocabulary.ids);
        expect(Array.from(emb.vectors)).toEqual(Array.from(pipeline.embeddings.vectors));
      } finally {
        await pipeline.close();
      }
    }
  });

  it('refuses an empty playlist table and reports coverage in its metrics', () => {
    expect(() => trainTrackEmbeddings({ playlists: [] })).toThrow(new RegistryError('no playlists to train track embeddings on'));
    const ps = playlists();
    const lines: string[] = [];
    const emb = trainTrackEmbeddings({ playlists: ps, dims: 8, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^embeddings: 40 baskets, 24 items/);
    const m = trackEmbeddingMetrics(emb, ps);
    expect(m).toMatchObject({ items: 24, dims: 8, baskets: 40 });
    expect(m.trackCoverage).toBeCloseTo(24 / 25); // t:once is in one playlist only
  });
});

describe('publishTrackEmbeddings', () => {
  it('trains, publishes and announces; the same playlists again are the same version; a new version names its parent', async () => {
    const registry = createModelRegistry(join(work, 'models'));
    const p = producer();
    const dataWindow = { source: 'kafka:buddies.playlists.v1', from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', records: 40 };
    const first = await publishTrackEmbeddings({ registry, playlists: playlists(), dims: 8, dataWindow, announceTo: p });
    expect(first.version).toMatchObject({ status: 'production', parent: null, backend: EMBEDDINGS_BACKEND, dataWindow, params: { method: 'ppmi-svd', dims: 8 } });
    expect(first.announcement).toMatchObject({ modelName: 'track-embeddings', modelVersion: first.version.version, metrics: { items: 24, dims: 8 } });
    expect(p.count).toBe(1);

    const again = await publishTrackEmbeddings({ registry, playlists: playlists(), dims: 8, dataWindow, announceTo: p });
    expect(again.version.version).toBe(first.version.version);
    expect(await registry.list()).toHaveLength(1);

    const bigger = await publishTrackEmbeddings({ registry, playlists: playlists(), dims: 12 });
    expect(bigger.announcement).toBeUndefined();
    expect(bigger.version).toMatchObject({ status: 'candidate', parent: first.version.version });
    expect((await registry.production('TRACK_EMBEDDINGS'))!.version).toBe(first.version.version);
  });
});
