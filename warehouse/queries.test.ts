import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './migrations.js';
import { ANALYTICS_QUERIES, analyticsQuery, formatQueryResult, renderQuery, UnknownQueryError } from './queries.js';

const docs = readFileSync(new URL('../docs/analytics.md', import.meta.url), 'utf8');

describe("the analysts' queries", () => {
  it('are ten, with unique names, and docs/analytics.md quotes each one word for word, in order', () => {
    expect(ANALYTICS_QUERIES).toHaveLength(10);
    expect(new Set(ANALYTICS_QUERIES.map((q) => q.name)).size).toBe(10);
    const documented = [...docs.matchAll(/^### \d+\. `([\w-]+)`\n[\s\S]*?```sql\n([\s\S]*?)\n```/gm)].map((m) => ({ name: m[1], sql: m[2] }));
    expect(documented).toEqual(ANALYTICS_QUERIES.map((q) => ({ name: q.name, sql: q.sql })));
  });

  it('read only tables and views the migrations create', () => {
    const created = new Set(MIGRATIONS.flatMap((m) => m.statements).flatMap((s) => [...s.matchAll(/CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS (\w+)/g)].map((x) => x[1])));
    for (const q of ANALYTICS_QUERIES) {
      for (const t of q.reads) {
        expect(created, `${q.name} reads ${t}`).toContain(t);
        expect(q.sql, `${q.name} names ${t}`).toContain(t);
      }
    }
  });

  it('put the window start in place of {since}', () => {
    const sql = renderQuery(analyticsQuery('model-rates'), 1_796_000_000);
    expect(sql).not.toContain('{since}');
    expect(sql).toContain('hour >= toStartOfHour(toDateTime(1796000000))');
    expect(() => renderQuery(analyticsQuery('model-rates'), -1)).toThrow(RangeError);
    expect(() => analyticsQuery('nope')).toThrow(UnknownQueryError);
  });

  it('format a result as a table, JSON or CSV', () => {
    const result = { columns: [{ name: 'day', type: 'Date' }, { name: 'ctr', type: 'Float64' }], rows: [{ day: '2026-11-20', ctr: 0.5 }, { day: '2026-11-21', ctr: 0.25 }] };
    expect(formatQueryResult(result, 'table')).toBe('day          ctr\n----------  ----\n2026-11-20   0.5\n2026-11-21  0.25\n');
    expect(formatQueryResult(result, 'csv')).toBe('day,ctr\n2026-11-20,0.5\n2026-11-21,0.25\n');
    expect(JSON.parse(formatQueryResult(result, 'json'))).toEqual(result.rows);
    expect(formatQueryResult({ columns: result.columns, rows: [] }, 'table')).toBe('day  ctr\n(no rows)\n');
  });
});
