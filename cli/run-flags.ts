import type { BuddiesConfig } from '../config/index.js';
import { createJsonlRunStore, type RunStore } from '../runs/index.js';
import { createAutoRunStore, warehouseOptions } from '../warehouse/index.js';

/** `--runs FILE`, shared by the commands that record or read runs. */
export const RUNS_FLAG = { runs: { type: 'string' } } as const;
export const DEFAULT_RUNS_FILE = 'out/runs.jsonl';
export const RUNS_FLAG_HELP = `  --runs FILE          record the run in this JSON-lines file (default: ClickHouse when it answers, else ${DEFAULT_RUNS_FILE})`;

/** `--runs FILE` names a JSON-lines file; without it runs go to the configured ClickHouse when it answers, else to the default file. */
export function runStoreFor(path: string | undefined, cfg: BuddiesConfig): RunStore {
  if (path !== undefined) return createJsonlRunStore(path);
  return createAutoRunStore({ clickhouse: warehouseOptions(cfg), fallbackFile: DEFAULT_RUNS_FILE });
}
