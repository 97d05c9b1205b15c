import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createWarehouseClient, migrateWarehouse, MIGRATIONS, warehouseOptions, type WarehouseOptions } from '../../warehouse/index.js';
import { testConfig } from '../helpers/config.js';
import { randomId } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

describe('the ClickHouse warehouse schema', () => {
  let opts: WarehouseOptions;
  let db: ClickHouseClient;
  beforeAll(async () => { ({ opts, client: db } = await createTestWarehouse()); });
  afterAll(dropTestWarehouses);

  it('migrates once: a second run applies nothing', async () => {
    const again = await migrateWarehouse(opts);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toHaveLength(MIGRATIONS.length);
  });

  it('stores events with JSONEachRow and counts a re-imported event once', async () => {
    const row = { event_id: 'e1', user_id: 'u1', track_id: 't1', playlist_id: 'p1', source: 'ORGANIC_PLAYLIST', ms_played: 1000, track_duration_ms: 2000, recommendation_id: '', event_time: 1_795_900_000 };
    await db.insert({ table: 'listen_events', values: [row, { ...row, event_id: 'e2' }], format: 'JSONEachRow' });
    await db.insert({ table: 'listen_events', values: [row], format: 'JSONEachRow' }); // the same event imported again
    const [count] = await (await db.query({ query: 'SELECT count() AS n FROM listen_events FINAL', format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(count?.n)).toBe(2);
    const [first] = await (await db.query({ query: "SELECT toUnixTimestamp(event_time) AS t, toString(event_date) AS d FROM listen_events WHERE event_id = 'e1' LIMIT 1", format: 'JSONEachRow' })).json<{ t: number; d: string }>();
    expect(first).toEqual({ t: 1_795_900_000, d: '2026-11-28' });
  });

  it('upgrades a warehouse with the old per-position playlist_tracks: each playlist keeps its current tracks only', async () => {
    const old = warehouseOptions(testConfig(), `test_${randomId()}`);
    const admin = createWarehouseClient(old, 'default');
    const client = createWarehouseClient(old);
    try {
      await migrateWarehouse(old, MIGRATIONS.filter((m) => m.id <= 4));
      const playlist = { owner_id: 'o', name: 'n', followers: 0, organic: 1, updated_at: 1_795_900_000 };
      await client.insert({ table: 'playlists', format: 'JSONEachRow', values: [
        { ...playlist, playlist_id: 'p1', num_tracks: 3, deleted: 0, version: 1 },
        { ...playlist, playlist_id: 'p1', num_tracks: 2, deleted: 0, version: 2 }, // shrank to [b, d]
        { ...playlist, playlist_id: 'p2', num_tracks: 0, deleted: 1, version: 5 }, // deleted
      ] });
      await client.insert({ table: 'playlist_tracks', format: 'JSONEachRow', values: [
        ...['a', 'b', 'c'].map((t, pos) => ({ playlist_id: 'p1', pos, track_id: t, version: 1 })),
        ...['b', 'd'].map((t, pos) => ({ playlist_id: 'p1', pos, track_id: t, version: 2 })),
        { playlist_id: 'p2', pos: 0, track_id: 'x', version: 4 },
      ] });
      expect((await migrateWarehouse(old)).applied).toHaveLength(MIGRATIONS.length - 4);
      const rows = await (await client.query({ query: 'SELECT playlist_id, pos, track_id FROM playlist_tracks ORDER BY playlist_id, pos', format: 'JSONEachRow' })).json();
      expect(rows).toEqual([{ playlist_id: 'p1', pos: 0, track_id: 'b' }, { playlist_id: 'p1', pos: 1, track_id: 'd' }]);
      const [seen] = await (await client.query({ query: "SELECT toUnixTimestamp(minMerge(first_seen)) AS t FROM playlist_first_seen WHERE playlist_id = 'p1'", format: 'JSONEachRow' })).json<{ t: number }>();
      expect(seen?.t).toBe(1_795_900_000);
    } finally {
      await client.close();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${old.database}` });
      await admin.close();
    }
  });
});
