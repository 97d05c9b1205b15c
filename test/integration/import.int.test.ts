import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { importDataset } from '../../ingest/index.js';
import { createWarehouseSinkTopology, type SinkTopic } from '../../processors/index.js';
import { createStreamsApp, createTypedProducer } from '../../streams/index.js';
import { groupCaughtUp, waitFor } from '../helpers/kafka.js';
import { createTestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-import-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropTestWarehouses();
});

// Issue 3: importing a generated world runs end to end, and a second run changes no counts in ClickHouse.
describe('buddies import into the live stack', () => {
  it('imports a generated world, resumes as a no-op, and a forced re-import leaves the warehouse counts unchanged', async () => {
    const world = join(dir, 'world');
    const gen = await generateWorld({ users: 100, playlists: 300, seed: 7, out: world });
    const bed = await createTestBed(['playlists', 'listens', 'feedback', 'deadLetters']);
    const { client } = await createTestWarehouse();
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const stateFile = join(dir, 'state.json');

    const first = await importDataset({ kind: 'mpd', path: world, producer, warehouse: client, stateFile });
    expect(first.counts.playlists).toBe(gen.counts.playlists);
    expect(first.counts.listens).toBe(gen.counts.entries);
    expect(first.counts.follows).toBe(gen.counts.follows);
    expect(first.counts.tracks).toBeGreaterThan(0);
    const again = await importDataset({ kind: 'mpd', path: world, producer, warehouse: client, stateFile });
    expect(again.events).toBe(0); // the checkpoint says everything is in
    expect(again.skipped).toBe(gen.counts.slices);

    const sinkTopics: SinkTopic[] = ['playlists', 'listens', 'feedback'];
    const count = async (table: string) => Number((await (await client.query({ query: `SELECT count() AS n FROM ${table} FINAL`, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
    const drain = async (label: string, expected: number) => {
      const ids = sinkTopics.map((t) => bed.unique(`${label}-${t}`));
      const apps = sinkTopics.map((t, i) => createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: t, client, applicationId: ids[i]! }) }));
      await Promise.all(apps.map((a) => a.start()));
      const caughtUp = async () => (await Promise.all(sinkTopics.map((t, i) => groupCaughtUp(bed.kafka, ids[i]!, bed.topics.name(t))))).every(Boolean);
      await waitFor(caughtUp, `${label}: the sink to commit ${expected} events`, 120_000, 250);
      expect(apps.reduce((n, a) => n + a.stats.processed, 0)).toBeGreaterThanOrEqual(expected);
      await Promise.all(apps.map((a) => a.stop()));
      return { listens: await count('listen_events'), playlists: await count('playlists'), follows: await count('feedback_events'), tracks: await count('tracks') };
    };
    const afterFirst = await drain('first', first.events);
    expect(afterFirst).toEqual({ listens: gen.counts.entries, playlists: gen.counts.playlists, follows: gen.counts.follows, tracks: first.counts.tracks });

    const forced = await importDataset({ kind: 'mpd', path: world, producer, warehouse: client, stateFile, restart: true });
    expect(forced.events).toBe(first.events);
    // a fresh group reads the topics from the start: every event now twice in Kafka, once in the warehouse
    expect(await drain('second', 2 * first.events)).toEqual(afterFirst);
    await producer.disconnect();
  });
});
