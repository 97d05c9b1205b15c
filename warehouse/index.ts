export { createWarehouseClient, warehouseOptions } from './client.js';
export type { WarehouseOptions } from './client.js';
export { migrateWarehouse, requireWarehouseSchema, WarehouseSchemaError } from './migrate.js';
export type { MigrateResult } from './migrate.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
export { createClickHouseRunStore } from './run-store.js';
export { createAutoRunStore } from './auto-run-store.js';
