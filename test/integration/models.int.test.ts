import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../../models/bpr/index.js';
import { vocabularyFromIds, type ItemEmbeddings } from '../../models/embeddings/index.js';
import { createIdMap } from '../../models/interactions.js';
import {
  createModelRegistry, latestAnnouncements, loadAnnouncedBpr, loadAnnouncedEmbeddings, type ModelRegistry,
} from '../../registry/index.js';
import { createTypedProducer, type PlaylistEvent } from '../../streams/index.js';
import { readTopicToEnd } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

let bed: TestBed;
let work: string;

beforeAll(async () => {
  bed = await createTestBed(['modelAnnouncements', 'playlists']);
  work = await mkdtemp(join(tmpdir(), 'buddies-models-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  const admin = bed.kafka.admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(bed.topics.prefix));
  if (mine.length) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
});

function embeddings(first: number): ItemEmbeddings {
  return { method: 'ppmi-svd', dims: 2, vocabulary: vocabularyFromIds(['t1', 't2', 't3'], Int32Array.of(3, 2, 2)), vectors: Float32Array.of(first, 0, 0, 1, 0.6, 0.8), params: { seed: 1 } };
}

async function savedBpr(dir: string): Promise<string> {
  await saveFactors(
    { factors: 2, itemBias: false, stride: 2, users: createIdMap(['u1', 'u2']), items: createIdMap(['p1', 'p2']), userFactors: Float32Array.of(1, 0, 0, 1), itemFactors: Float32Array.of(0.5, 0.5, -1, 1) },
    dir, { ...DEFAULT_BPR_OPTIONS, factors: 2, itemBias: false }, 'cpu-js', { metrics: { trainAuc: 0.8 } },
  );
  return dir;
}

const statusOf = async (registry: ModelRegistry) => Object.fromEntries((await registry.list()).map((v) => [`${v.modelName}:${v.version}`, v.status]));

describe('the model registry on the real Kafka', () => {
  it('announces published versions on the compacted topic; the latest of each model reads back and loads', async () => {
    const registry = createModelRegistry(join(work, 'lib'));
    const e1 = await registry.publishEmbeddings(embeddings(1), { params: {}, metrics: { items: 3 }, backend: 'cpu-js' });
    const bpr = await registry.publish('BPR', await savedBpr(join(work, 'bpr')), { params: {}, metrics: { trainAuc: 0.8 }, backend: 'cpu-js' });
    const e2 = await registry.publishEmbeddings(embeddings(-1), { params: {}, metrics: { items: 3 }, backend: 'cpu-js', parent: e1.version });

    // with the clients (a producer for the call) and with a producer of the caller's
    const a1 = await registry.announce({ kafka: bed.kafka, serde: bed.serde }, 'TRACK_EMBEDDINGS', e1.version);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    let ab;
    let a2;
    try {
      ab = await registry.announce(producer, 'BPR', bpr.version);
      a2 = await registry.announce(producer, 'TRACK_EMBEDDINGS', e2.version);
    } finally {
      await producer.disconnect();
    }

    const raw = await readTopicToEnd(bed.kafka, bed.topics.name('modelAnnouncements'));
    expect(raw.map((m) => m.key?.toString())).toEqual(['track-embeddings', 'bpr', 'track-embeddings']);
    expect(await bed.serde.decode('modelAnnouncements', raw[0]!.value!)).toEqual(a1);

    const latest = await latestAnnouncements(bed.kafka, bed.serde);
    expect([...latest.keys()].sort()).toEqual(['bpr', 'track-embeddings']);
    expect(latest.get('track-embeddings')).toEqual(a2);
    expect(latest.get('bpr')).toEqual(ab);
    expect(a2).toMatchObject({ modelVersion: e2.version, kind: 'TRACK_EMBEDDINGS', artifactUri: e2.uri, backend: 'cpu-js', metrics: { items: 3 } });

    const loaded = await loadAnnouncedEmbeddings(latest.get('track-embeddings')!);
    expect(Array.from(loaded.embeddings.vectors)).toEqual(Array.from(embeddings(-1).vectors));
    expect(loaded.record.parent).toBe(e1.version);
    const factors = await loadAnnouncedBpr(latest.get('bpr')!);
    expect(factors.factors.items.ids).toEqual(['p1', 'p2']);

    expect(await statusOf(registry)).toEqual({ [`track-embeddings:${e1.version}`]: 'retired', [`track-embeddings:${e2.version}`]: 'production', [`bpr:${bpr.version}`]: 'production' });
  });
});

/** `buddies ARGS` as a user runs it (the compiled CLI), on this test's topics and its own model registry. */
function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, BUDDIES_MODELS_DIR: join(work, 'cli') };
  return new Promise((resolve) => {
    execFile('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], { env, cwd: work, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** 30 organic playlists over two groups of 10 tracks, by 6 owners. */
function playlistEvents(): PlaylistEvent[] {
  return Array.from({ length: 30 }, (_, i) => ({
    eventId: `e${i}`, playlistId: `p${i}`, kind: 'CREATE', ownerId: `u${i % 6}`, name: `mix ${i}`,
    tracks: Array.from({ length: 5 }, (_, j) => `t:${i % 2}:${(i + 3 * j) % 10}`), followers: i, organic: true, eventTime: Date.parse('2026-05-01T00:00:00Z') + i * 60_000,
  }));
}

describe('buddies models on the real stack', () => {
  it('train-embeddings says what to do on an empty playlist table, then trains, publishes and announces; publish and list follow', async () => {
    const empty = await buddies('models', 'train-embeddings');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`buddies models: no playlists in ${bed.topics.name('playlists')}: import some first (buddies import mpd DIR)\n`); // one line, nothing else

    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('playlists', playlistEvents().map((p) => ({ key: p.playlistId, value: p })));
    await producer.disconnect();

    const trained = await buddies('models', 'train-embeddings', '--dims', '4');
    expect(trained.stderr).toMatch(/\[models\] 30 playlists; training 4-dimensional ppmi-svd track embeddings/);
    expect(trained.code).toBe(0);
    const [name, version, status, uri] = trained.stdout.trim().split(' ');
    expect([name, status]).toEqual(['track-embeddings', 'production']);
    const bpr = await buddies('models', 'publish', await savedBpr(join(work, 'cli-bpr')), '--kind', 'bpr');
    expect(bpr.code).toBe(0);
    expect(bpr.stdout).toMatch(/^bpr [0-9a-f]{16} production file:\/\/\S+\/\n$/);

    const latest = await latestAnnouncements(bed.kafka, bed.serde);
    expect(latest.get('track-embeddings')).toMatchObject({ modelVersion: version, artifactUri: uri, kind: 'TRACK_EMBEDDINGS' });
    const loaded = await loadAnnouncedEmbeddings(latest.get('track-embeddings')!);
    expect(loaded.embeddings.dims).toBe(4);
    expect(loaded.record.dataWindow).toEqual({ source: `kafka:${bed.topics.name('playlists')}`, from: '2026-05-01T00:00:00.000Z', to: '2026-05-01T00:29:00.000Z', records: 30 });
    expect(loaded.record.metrics.trackCoverage).toBe(1);

    // the same playlists and options again: the same version, announced again
    const again = await buddies('models', 'train-embeddings', '--dims', '4');
    expect(again.stdout.trim().split(' ')[1]).toBe(version);

    const list = await buddies('models', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n').filter((l) => / production /.test(l)).map((l) => l.split(/\s+/)[0]).sort()).toEqual(['bpr', 'track-embeddings']);
  });
});
