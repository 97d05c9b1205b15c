import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { createWorldModel, type WorldOptions } from '../../data/world.js';
import { importDataset } from '../../ingest/index.js';
import { createRecommenderApp, trainAndAnnounceEmbeddings } from '../../processors/index.js';
import { createModelRegistry } from '../../registry/index.js';
import { runLiveSimulation } from '../../simulator/index.js';
import { createTypedProducer } from '../../streams/index.js';
import { readTopicToEnd } from '../helpers/kafka.js';
import { createTestBed } from '../helpers/services.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Issues 2–4 together: imported playlists → live recommender → simulated users reacting → events back in Kafka.
describe('the live loop on the real stack', () => {
  it('simulated users receive recommendation lists, react to them, and every event they write is valid', async () => {
    const world = join(dir, 'world');
    await generateWorld({ users: 150, playlists: 400, seed: 11, out: world, communities: 8 });
    const bed = await createTestBed(['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'modelAnnouncements', 'deadLetters']);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await importDataset({ kind: 'mpd', path: world, producer, stateFile: join(dir, 'state.json') });

    // the first start trains the track embeddings, publishes them to the registry and announces them
    const app = await createRecommenderApp({
      kafka: bed.kafka, serde: bed.serde, topics: bed.topics, groupPrefix: bed.unique('loop'), strategy: 'buddies', k: 5, refreshEvery: 3, log: () => {},
      bootstrapEmbeddings: async () => { await trainAndAnnounceEmbeddings({ kafka: bed.kafka, serde: bed.serde, registry: createModelRegistry(join(dir, 'models')), dims: 16 }); },
    });
    await app.start();
    const { live } = app;

    const { config } = JSON.parse(readFileSync(join(world, 'world.json'), 'utf8')) as { config: WorldOptions };
    const result = await runLiveSimulation({
      kafka: bed.kafka, serde: bed.serde, producer, model: createWorldModel(config), users: 60, seed: 3, rate: 300, durationMs: 12_000, speed: 20_000,
    });
    await app.stop();
    await producer.disconnect();

    expect(result.lists).toBeGreaterThan(0);
    const metrics = [...result.metrics.values()];
    expect(metrics.reduce((n, m) => n + m.impressions, 0)).toBeGreaterThan(0);
    expect(live.stats.lists).toBeGreaterThanOrEqual(result.lists);
    // everything the simulated users wrote decodes against the registered schemas; nothing was dead-lettered
    for (const topic of ['listens', 'feedback'] as const) {
      const all = await readTopicToEnd(bed.kafka, bed.topics.name(topic));
      for (const m of all) await expect(bed.serde.decode(topic, m.value as Buffer)).resolves.toBeTruthy();
    }
    const fb = await readTopicToEnd(bed.kafka, bed.topics.name('feedback'));
    const kinds = new Set(await Promise.all(fb.map(async (m) => (await bed.serde.decode('feedback', m.value as Buffer)).kind)));
    expect(kinds).toContain('IMPRESSION');
    expect(await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'))).toHaveLength(0);
    // the compacted state topics got each refreshed user's taste and buddies
    const tastes = await readTopicToEnd(bed.kafka, bed.topics.name('tasteEmbeddings'));
    expect(tastes.length).toBeGreaterThan(0);
    const taste = await bed.serde.decode('tasteEmbeddings', tastes[0]?.value as Buffer);
    expect(taste.vector).toHaveLength(16);
    expect((await readTopicToEnd(bed.kafka, bed.topics.name('pairings'))).length).toBeGreaterThan(0);
  });
});
