import { createJsonlRunStore, type RunStore } from '../runs/index.js';
import { createWarehouseClient, type WarehouseOptions } from './client.js';
import { migrateWarehouse } from './migrate.js';
import { createClickHouseRunStore } from './run-store.js';

/**
 * Where runs are recorded when no file is named: ClickHouse when the stack's ClickHouse answers (schema
 * migrated on first use), else the JSON-lines file. Chosen once, on first use; says which on stderr.
 */
export function createAutoRunStore(opts: { readonly clickhouse: WarehouseOptions; readonly fallbackFile: string; readonly log?: (line: string) => void }): RunStore {
  let chosen: Promise<RunStore> | undefined;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const choose = async (): Promise<RunStore> => {
    const probe = createWarehouseClient(opts.clickhouse, 'default');
    const up = await Promise.race([
      probe.ping().then((r) => r.success, () => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1500).unref()),
    ]);
    await probe.close();
    if (up) {
      await migrateWarehouse(opts.clickhouse);
      log(`runs: recorded in ClickHouse (${opts.clickhouse.url}, ${opts.clickhouse.database}.runs)`);
      return createClickHouseRunStore(createWarehouseClient(opts.clickhouse));
    }
    log(`runs: ClickHouse not reachable, recorded in ${opts.fallbackFile}`);
    return createJsonlRunStore(opts.fallbackFile);
  };
  const store = () => (chosen ??= choose());
  return {
    record: async (run) => (await store()).record(run),
    list: async (filter) => (await store()).list(filter),
    get: async (id) => (await store()).get(id),
  };
}
