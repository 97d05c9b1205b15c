import { migrateWarehouse, warehouseOptions } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { parseFlagsAndArgs } from './flags.js';

const HELP = `usage: buddies warehouse migrate

  migrate   create the ClickHouse database (CLICKHOUSE_DATABASE, default 'buddies') and apply the
            schema migrations not applied yet: events, catalogue, recommendations, metrics, runs (idempotent)
`;

export const warehouseCommand: Command = {
  summary: 'create or upgrade the ClickHouse schema (idempotent)',
  help: HELP,
  async run(argv, ctx) {
    const { positionals } = parseFlagsAndArgs(argv, {});
    if (positionals[0] !== 'migrate') throw new UsageError(positionals[0] ? `unknown action '${positionals[0]}'` : 'missing action: migrate');
    const cfg = ctx.config;
    const res = await migrateWarehouse(warehouseOptions(cfg));
    process.stdout.write(`warehouse ${cfg.clickhouse.database}: ${res.applied.length} migration(s) applied${res.applied.length ? ` (${res.applied.join(', ')})` : ''}, ${res.alreadyApplied.length} already there\n`);
    return 0;
  },
};
