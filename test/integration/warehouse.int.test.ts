import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrateWarehouse, MIGRATIONS, type WarehouseOptions } from '../../warehouse/index.js';
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
});
