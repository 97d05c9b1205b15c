import type { ClickHouseClient } from '@clickhouse/client';
import { newRunId, type RunRecord, type RunStore } from '../runs/index.js';

/** Run ids are `YYYYMMDD-HHMMSS-hex` or caller-chosen: only these characters reach SQL (18.16 has no query parameters). */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,200}$/;
const SAFE_KIND = /^[A-Za-z0-9._-]{1,64}$/;

function literal(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new RangeError(`${what} '${value}' has characters a run ${what} cannot have`);
  return `'${value}'`;
}

/**
 * Experiment runs in ClickHouse's `runs` table (migration 4): the full record as JSON plus columns for
 * analysts. Same contract as the JSON-lines store: append-only, oldest first, get by id or unique prefix.
 */
export function createClickHouseRunStore(client: ClickHouseClient): RunStore {
  let seq = 0;
  const rows = async (where: string, limit?: number): Promise<RunRecord[]> => {
    const order = limit === undefined ? 'ORDER BY recorded_at, run_id' : `ORDER BY recorded_at DESC, run_id DESC LIMIT ${limit}`;
    const res = await client.query({ query: `SELECT record FROM runs FINAL ${where} ${order}`, format: 'JSONEachRow' });
    const out = (await res.json<{ record: string }>()).map((r) => JSON.parse(r.record) as RunRecord);
    return limit === undefined ? out : out.reverse();
  };
  return {
    async record(run) {
      const r: RunRecord = { ...run, id: run.id ?? newRunId() };
      literal(r.id, SAFE_ID, 'id');
      await client.insert({
        table: 'runs',
        format: 'JSONEachRow',
        values: [{
          run_id: r.id, kind: r.kind, started_at: Math.floor(Date.parse(r.startedAt) / 1000) || 0, params: JSON.stringify(r.params),
          metrics: JSON.stringify(r.metrics), data_hash: r.dataHash ?? '', code_version: r.codeVersion ?? '', artifact: r.artifact ?? '',
          record: JSON.stringify(r), recorded_at: Date.now() * 1000 + (seq++ % 1000),
        }],
      });
      return r;
    },
    async list(filter = {}) {
      if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 0)) throw new RangeError('limit must be an integer >= 0');
      const where = filter.kind === undefined ? '' : `WHERE kind = ${literal(filter.kind, SAFE_KIND, 'kind')}`;
      return rows(where, filter.limit);
    },
    async get(id) {
      if (!SAFE_ID.test(id)) return undefined;
      const exact = await rows(`WHERE run_id = '${id}'`);
      if (exact[0]) return exact[0];
      const prefixed = await rows(`WHERE run_id LIKE '${id.replace(/[_%]/g, '\\\\$&')}%'`);
      return prefixed.length === 1 ? prefixed[0] : undefined;
    },
  };
}
