import { afterAll, describe, expect, it } from 'vitest';
import { createWarehouseSink } from '../../processors/index.js';
import { createStreamRunner, createTypedProducer } from '../../streams/index.js';
import { waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

describe('warehouse sink processor', () => {
  afterAll(dropTestWarehouses);

  it('lands listens and playlists in ClickHouse, and a full replay changes no counts', async () => {
    const bed = await createTestBed(['listens', 'playlists', 'deadLetters']);
    const { client } = await createTestWarehouse();

    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('listens', Array.from({ length: 50 }, (_, i) => ({ key: `u${i % 7}`, value: { ...SAMPLES.listens.value, eventId: `e${i}`, userId: `u${i % 7}` } })));
    await producer.send('playlists', [
      { key: 'p1', value: { ...SAMPLES.playlists.value, playlistId: 'p1', tracks: ['t1', 't2', 't3'], eventTime: 1000 } },
      { key: 'p1', value: { ...SAMPLES.playlists.value, playlistId: 'p1', kind: 'UPDATE', tracks: ['t1', 't2', 't3', 't4'], followers: 40, eventTime: 2000 } },
    ]);
    await producer.disconnect();

    const count = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
    // run the sink twice over everything, with two groups: the second run is a full replay
    for (const round of [1, 2]) {
      const sinks = [createWarehouseSink('listens', client), createWarehouseSink('playlists', client)] as const;
      const runners = [
        createStreamRunner({ kafka: bed.kafka, serde: bed.serde, input: 'listens', groupId: bed.unique(`sink${round}`), guarantee: 'at-least-once', processor: sinks[0] }),
        createStreamRunner({ kafka: bed.kafka, serde: bed.serde, input: 'playlists', groupId: bed.unique(`sinkp${round}`), guarantee: 'at-least-once', processor: sinks[1] }),
      ];
      await Promise.all(runners.map((r) => r.start()));
      await waitFor(() => sinks[0].written === 50 && sinks[1].written === 9, `round ${round} to write every row`);
      await Promise.all(runners.map((r) => r.stop()));
      expect(await count('SELECT count() AS n FROM listen_events FINAL')).toBe(50);
      expect(await count('SELECT uniqExact(user_id) AS n FROM listen_events FINAL')).toBe(7);
      expect(await count('SELECT count() AS n FROM playlists FINAL')).toBe(1);
      expect(await count("SELECT max(followers) AS n FROM playlists FINAL WHERE playlist_id = 'p1'")).toBe(40);
      expect(await count("SELECT count() AS n FROM playlist_tracks FINAL WHERE playlist_id = 'p1'")).toBe(4);
    }
  });
});
