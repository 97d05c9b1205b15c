import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { BuddiesConfig } from '../config/index.js';

export interface WarehouseOptions {
  readonly url: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
}

/** The ClickHouse connection the configuration names (another database for tests and benchmarks). */
export function warehouseOptions(cfg: BuddiesConfig, database: string = cfg.clickhouse.database): WarehouseOptions {
  return { url: cfg.clickhouse.url, database, username: cfg.clickhouse.username, password: cfg.clickhouse.password };
}

/**
 * The read-only analyst's connection (docs/security.md): its own database of the events, recommendations and
 * metrics tables, and nothing else.
 */
export function analystWarehouseOptions(cfg: BuddiesConfig): WarehouseOptions {
  const a = cfg.clickhouse.analyst;
  return { url: cfg.clickhouse.url, database: a.database, username: a.username, password: a.password };
}

/**
 * A ClickHouse HTTP client bound to the project's database. Sends no per-query settings, so it works
 * with Debian's 18.16 server as with current ones.
 */
export function createWarehouseClient(opts: WarehouseOptions, database: string | undefined = opts.database): ClickHouseClient {
  return createClient({
    url: opts.url,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    database,
    request_timeout: 60_000,
    compression: { request: false, response: false },
    // a busy event loop can outlive the idle-socket TTL; drop such sockets instead of writing into a closed one
    keep_alive: { enabled: true, eagerly_destroy_stale_sockets: true },
    // failures are thrown to the caller, which reports them (one line in the CLI): no second, multi-line log of its own
    log: { level: ClickHouseLogLevel.OFF },
  });
}
