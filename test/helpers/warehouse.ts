import type { ClickHouseClient } from '@clickhouse/client';
import { createWarehouseClient, migrateWarehouse, warehouseOptions, type WarehouseOptions } from '../../warehouse/index.js';
import { testConfig } from './config.js';
import { randomId } from './services.js';

const created: Array<{ opts: WarehouseOptions; client: ClickHouseClient }> = [];

/** A freshly migrated ClickHouse database of this test's own; `dropTestWarehouses` (in afterAll) removes it. */
export async function createTestWarehouse(): Promise<{ opts: WarehouseOptions; client: ClickHouseClient }> {
  const opts = warehouseOptions(testConfig(), `test_${randomId()}`);
  await migrateWarehouse(opts);
  const w = { opts, client: createWarehouseClient(opts) };
  created.push(w);
  return w;
}

export async function dropTestWarehouses(): Promise<void> {
  const admin = createWarehouseClient(warehouseOptions(testConfig()), 'default');
  try {
    for (const { opts, client } of created.splice(0)) {
      await client.close();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${opts.database}` });
    }
  } finally {
    await admin.close();
  }
}
