import type { WarehouseOptions } from './client.js';
import { createWarehouseClient } from './client.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export interface MigrateResult {
  readonly applied: readonly string[];
  readonly alreadyApplied: readonly string[];
}

/** The warehouse database is missing or behind the code's migrations (`buddies warehouse migrate` fixes it). */
export class WarehouseSchemaError extends Error {
  override readonly name = 'WarehouseSchemaError';
  constructor(readonly database: string, readonly pending: readonly string[]) {
    super(pending.length === 0 ? `database ${database} does not exist` : `database ${database} lacks migration${pending.length > 1 ? 's' : ''} ${pending.join(', ')}`);
  }
}

/** Throws {@link WarehouseSchemaError} unless the database exists with every migration applied. Reads only. */
export async function requireWarehouseSchema(opts: WarehouseOptions, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const server = createWarehouseClient(opts, 'default');
  try {
    const rowsOf = async (query: string) => (await server.query({ query, format: 'JSONEachRow' })).json();
    if ((await rowsOf(`SELECT name FROM system.databases WHERE name = '${opts.database}'`)).length === 0) throw new WarehouseSchemaError(opts.database, []);
    const tables = await rowsOf(`SELECT name FROM system.tables WHERE database = '${opts.database}' AND name = 'schema_migrations'`);
    if (tables.length === 0) throw new WarehouseSchemaError(opts.database, migrations.map((m) => m.name));
    const rows = await (await server.query({ query: `SELECT id FROM ${opts.database}.schema_migrations FINAL`, format: 'JSONEachRow' })).json<{ id: number }>();
    const done = new Set(rows.map((r) => Number(r.id)));
    const pending = migrations.filter((m) => !done.has(m.id)).map((m) => m.name);
    if (pending.length > 0) throw new WarehouseSchemaError(opts.database, pending);
  } finally {
    await server.close();
  }
}

/** Creates the database and applies the migrations not yet recorded in `schema_migrations`. Idempotent. */
export async function migrateWarehouse(opts: WarehouseOptions, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const server = createWarehouseClient(opts, 'default');
  try {
    await server.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database}` });
  } finally {
    await server.close();
  }
  const db = createWarehouseClient(opts);
  try {
    await db.command({ query: 'CREATE TABLE IF NOT EXISTS schema_migrations (id UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY id' });
    const rows = await (await db.query({ query: 'SELECT id FROM schema_migrations FINAL', format: 'JSONEachRow' })).json<{ id: number }>();
    const done = new Set(rows.map((r) => Number(r.id)));
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) {
        alreadyApplied.push(m.name);
        continue;
      }
      for (const statement of m.statements) await db.command({ query: statement });
      await db.insert({ table: 'schema_migrations', values: [{ id: m.id, name: m.name, applied_at: Math.floor(Date.now() / 1000) }], format: 'JSONEachRow' });
      applied.push(m.name);
    }
    return { applied, alreadyApplied };
  } finally {
    await db.close();
  }
}
