import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One training, evaluation or tuning run: what went in, what came out, and where it lives. */
export interface RunRecord {
  /** Unique, sortable by time: `YYYYMMDD-HHMMSS-xxxxxx`. */
  readonly id: string;
  /** `train`, `eval`, `tune`, … */
  readonly kind: string;
  /** The command line or job that made it. */
  readonly command?: string;
  /** ISO time it started. */
  readonly startedAt: string;
  readonly seconds?: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
  /** Content hash of the input data (see `hashFile`). */
  readonly dataHash?: string;
  readonly dataPath?: string;
  /** Git commit of the code (with `-dirty` when the tree had changes), when known. */
  readonly codeVersion?: string;
  /** Where the model or results were written. */
  readonly artifact?: string;
  readonly backend?: string;
}

export type NewRun = Omit<RunRecord, 'id'> & { readonly id?: string };

export interface RunListFilter {
  readonly kind?: string;
  /** The newest `limit` runs (default all). */
  readonly limit?: number;
}

/**
 * Where runs are recorded. Small on purpose, so a ClickHouse-backed store can implement it: `record` appends
 * (ids are never reused), `list` returns oldest first, `get` finds one by id or by a unique id prefix.
 */
export interface RunStore {
  record(run: NewRun): Promise<RunRecord>;
  list(filter?: RunListFilter): Promise<RunRecord[]>;
  get(id: string): Promise<RunRecord | undefined>;
}

export function newRunId(now = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function select(runs: RunRecord[], filter: RunListFilter = {}): RunRecord[] {
  const kept = filter.kind === undefined ? runs : runs.filter((r) => r.kind === filter.kind);
  return filter.limit === undefined ? kept : kept.slice(Math.max(0, kept.length - filter.limit));
}

function find(runs: RunRecord[], id: string): RunRecord | undefined {
  const exact = runs.find((r) => r.id === id);
  if (exact) return exact;
  const prefixed = runs.filter((r) => r.id.startsWith(id));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Runs kept in memory (tests, dry runs). */
export function createMemoryRunStore(): RunStore {
  const runs: RunRecord[] = [];
  return {
    async record(run) {
      const r = { ...run, id: run.id ?? newRunId() };
      runs.push(r);
      return r;
    },
    list: async (filter) => select([...runs], filter),
    get: async (id) => find(runs, id),
  };
}

/** A malformed line in a runs file: reported with its line number, never silently skipped. */
export class RunStoreError extends Error {
  override readonly name = 'RunStoreError';
}

/** Runs appended as JSON lines to `path` (created with its folder on the first record). */
export function createJsonlRunStore(path: string): RunStore {
  const readAll = async (): Promise<RunRecord[]> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: RunRecord[] = [];
    text.split('\n').forEach((line, n) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.parse(line) as RunRecord);
      } catch {
        throw new RunStoreError(`${path}:${n + 1}: not a JSON run record`);
      }
    });
    return out;
  };
  return {
    async record(run) {
      const r: RunRecord = { ...run, id: run.id ?? newRunId() };
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, `${JSON.stringify(r)}\n`);
      return r;
    },
    list: async (filter) => select(await readAll(), filter),
    get: async (id) => find(await readAll(), id),
  };
}
