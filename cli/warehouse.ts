import { parseArgs } from 'node:util';
import { migrateWarehouse } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { loadConfig } from './config.js';
import { warehouseOptions } from './connect.js';

const HELP = `usage: buddies warehouse migrate

  migrate   create the ClickHouse database (CLICKHOUSE_DATABASE, default 'buddies') and apply the
            schema migrations not applied yet: events, catalogue, recommendations, metrics, runs (idempotent)
`;

export const warehouseCommand: Command = {
  summary: 'create or upgrade the ClickHouse schema (idempotent)',
  help: HELP,
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals[0] !== 'migrate') throw new UsageError(positionals[0] ? `unknown action '${positionals[0]}'` : 'missing action: migrate');
    const cfg = loadConfig();
    const res = await migrateWarehouse(warehouseOptions(cfg));
    process.stdout.write(`warehouse ${cfg.clickhouse.database}: ${res.applied.length} migration(s) applied${res.applied.length ? ` (${res.applied.join(', ')})` : ''}, ${res.alreadyApplied.length} already there\n`);
    return 0;
  },
};
