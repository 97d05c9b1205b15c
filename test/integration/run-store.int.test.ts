import { afterAll, describe } from 'vitest';
import { createClickHouseRunStore, createWarehouseClient, migrateWarehouse, type WarehouseOptions } from '../../warehouse/index.js';
import { runStoreContract } from '../helpers/run-store-contract.js';
import { createTestBed, randomId } from '../helpers/services.js';

describe('RunStore (ClickHouse)', () => {
  const databases: string[] = [];
  let url = '';
  afterAll(async () => {
    const admin = createWarehouseClient({ url, database: 'default' });
    for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await admin.close();
  });
  runStoreContract(async () => {
    const { cfg } = await createTestBed([]);
    url = cfg.clickhouse.url;
    const opts: WarehouseOptions = { url, database: `test_${randomId()}` };
    databases.push(opts.database);
    await migrateWarehouse(opts);
    return createClickHouseRunStore(createWarehouseClient(opts));
  });
});
