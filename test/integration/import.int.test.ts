import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { createLoadReport, readMpdDir } from '../../data/index.js';
import { pipelinePlaylistFromMpd, uniquePlaylistIds } from '../../models/pipeline/index.js';
import { importDataset } from '../../ingest/index.js';
import { createWarehouseSinkTopology, type SinkTopic } from '../../processors/index.js';
import { createStreamsApp, createTypedProducer } from '../../streams/index.js';
import { groupCaughtUp, readTopicToEnd, waitFor } from '../helpers/kafka.js';
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

// A pid that two slices both hold names two different playlists (the shared MPD sample has 27 such pids): both
// must reach the live system, under the ids `eval mpd` gives them, even when the import crashes between the slices.
describe('buddies import with a pid repeated across slices', () => {
  it('imports the later playlist as PID~2, keeps that id across a crash and resume, and loses neither', async () => {
    const world = join(dir, 'repeated');
    mkdirSync(world);
    const track = (pos: number, id: string) => ({ pos, track_uri: `spotify:track:${id}`, track_name: id, artist_name: 'A' });
    const playlist = (pid: number, name: string, ids: string[]) => ({ pid, name, num_followers: 1, modified_at: 1_500_000_000 + pid, tracks: ids.map((id, i) => track(i, id)) });
    const slices = {
      'mpd.slice.0-999.json': [playlist(0, 'first', ['a0', 'b0']), playlist(1, 'one', ['a1', 'b1', 'c1'])],
      'mpd.slice.1000-1999.json': [playlist(1, 'another one', ['x1', 'y1']), playlist(2, 'two', ['a2'])],
    };
    for (const [name, playlists] of Object.entries(slices)) writeFileSync(join(world, name), JSON.stringify({ info: {}, playlists }));
    const bed = await createTestBed(['playlists', 'listens', 'feedback']);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const stateFile = join(dir, 'repeated-state.json');
    try {
      // killed right after the first slice's checkpoint
      const crash = new Error('crash after the first slice');
      await expect(importDataset({ kind: 'mpd', path: world, producer, stateFile, onProgress: () => { throw crash; } })).rejects.toBe(crash);
      const resumed = await importDataset({ kind: 'mpd', path: world, producer, stateFile });
      expect(resumed.skipped).toBe(1);
      expect(resumed.renamed).toBe(1);
      expect(resumed.counts.playlists).toBe(2);

      const decoded = async (key: 'playlists' | 'listens') =>
        Promise.all((await readTopicToEnd(bed.kafka, bed.topics.name(key))).map(async (m) => (await bed.serde.decode(key, m.value as Buffer)) as { eventId: string; playlistId: string | null; ownerId?: string; name?: string }));
      const created = await decoded('playlists');
      const byId = new Map(created.map((e) => [e.playlistId, e]));
      expect([...byId.keys()].sort()).toEqual(['0', '1', '1~2', '2']);
      expect(byId.get('1')).toMatchObject({ name: 'one', ownerId: 'mpd-user-1' });
      expect(byId.get('1~2')).toMatchObject({ name: 'another one', ownerId: 'mpd-user-1~2', eventId: 'mpd:1~2:create' });
      const listens = await decoded('listens');
      expect(listens).toHaveLength(8);
      expect(new Set(listens.map((e) => e.eventId)).size).toBe(8); // none would be folded into another
      expect(listens.filter((e) => e.playlistId === '1~2')).toHaveLength(2);
      // the offline commands (eval mpd, offline recommend-playlists) read the same folder under the same ids
      const loaded = [];
      for await (const p of readMpdDir(world, createLoadReport())) loaded.push(pipelinePlaylistFromMpd(p));
      expect(uniquePlaylistIds(loaded).playlists.map((p) => [p.id, p.tracks.length])).toEqual([['0', 2], ['1', 3], ['1~2', 2], ['2', 1]]);
    } finally {
      await producer.disconnect();
    }
  });
});
