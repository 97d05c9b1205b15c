import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { importDataset } from '../../ingest/index.js';
import { createWarehouseSink, type SinkTopic } from '../../processors/index.js';
import { createStreamRunner, createTypedProducer } from '../../streams/index.js';
import { waitFor } from '../helpers/kafka.js';
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
      const sinks = sinkTopics.map((t) => createWarehouseSink(t, client));
      const runners = sinkTopics.map((t, i) => createStreamRunner({ kafka: bed.kafka, serde: bed.serde, input: t, groupId: bed.unique(`${label}-${t}`), guarantee: 'at-least-once', processor: sinks[i] as ReturnType<typeof createWarehouseSink> }));
      await Promise.all(runners.map((r) => r.start()));
      await waitFor(() => runners.reduce((n, r) => n + r.stats.processed, 0) === expected, `${label}: the sink to read ${expected} events`, 120_000);
      await Promise.all(runners.map((r) => r.stop()));
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
