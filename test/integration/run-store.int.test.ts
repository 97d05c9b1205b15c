import { afterAll, describe } from 'vitest';
import { createClickHouseRunStore } from '../../warehouse/index.js';
import { runStoreContract } from '../helpers/run-store-contract.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

describe('RunStore (ClickHouse)', () => {
  afterAll(dropTestWarehouses);
  runStoreContract(async () => createClickHouseRunStore((await createTestWarehouse()).client));
});
