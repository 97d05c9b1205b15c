import { describe, expect, it } from 'vitest';
import { ANALYTICS_QUERIES, analyticsQuery } from '../warehouse/queries.js';
import {
  feedbackInsert, listensInsert, medianMax, queriesTable, queryBenchPlan, RAW_EQUIVALENTS, rawEquivalent, readsOnlyViews, recommendationsInsert, VIEWS, type QueryTiming,
} from './queries.js';

describe('bench queries', () => {
  it('has a raw-table equivalent for every query that reads only hourly views, and it reads no view', () => {
    const viewOnly = ANALYTICS_QUERIES.filter((q) => readsOnlyViews(q.reads)).map((q) => q.name);
    expect(viewOnly).toEqual(expect.arrayContaining(['listening-minutes', 'organic-share', 'model-rates', 'explanation-rates', 'canary']));
    expect(Object.keys(RAW_EQUIVALENTS).sort()).toEqual([...viewOnly].sort());
    for (const name of viewOnly) {
      const sql = rawEquivalent(analyticsQuery(name), 1_792_454_400)!;
      for (const v of VIEWS) expect(sql, name).not.toContain(v);
      expect(sql, name).toMatch(/FROM (listen|feedback)_events FINAL/);
      expect(sql, name).toContain('toDateTime(1792454400)');
      expect(sql, name).not.toContain('{since}');
    }
    expect(readsOnlyViews(analyticsQuery('new-playlist-reach').reads)).toBe(false); // it counts distinct users in raw events
    expect(rawEquivalent(analyticsQuery('cold-start'), 0)).toBeUndefined();
  });

  it('gives each raw equivalent the columns of its query, in order', () => {
    const columns = (sql: string) => [...sql.split(/\nFROM /)[0]!.matchAll(/ AS (\w+)/g)].map((m) => m[1]);
    for (const [name, sql] of Object.entries(RAW_EQUIVALENTS)) expect(columns(sql), name).toEqual(columns(analyticsQuery(name).sql));
  });

  it('sizes everything in proportion to the listens', () => {
    const p = queryBenchPlan(10_000_000);
    expect(p).toMatchObject({ listens: 10_000_000, feedback: 2_500_000, lists: 200_000, users: 5000, existingUsers: 1667, curators: 1000, days: 28 });
    expect(p.oldPlaylists + p.newPlaylists).toBe(40_000);
    expect(p.newPlaylists).toBe(10_000);
    expect(p.algorithmicPlaylists).toBe(4000);
    expect(queryBenchPlan(1000).users).toBe(20);
    expect(() => queryBenchPlan(0)).toThrow(RangeError);
  });

  it('generates rows from hashes of the row number only, chunk by chunk', () => {
    const p = queryBenchPlan(1_000_000);
    for (const sql of [listensInsert(p, 2_000_000, 1_000_000), feedbackInsert(p, 0, 500), recommendationsInsert(p, 10, 20)]) {
      expect(sql).not.toMatch(/\brand\w*\(|now\(|generateUUID/);
    }
    expect(listensInsert(p, 2_000_000, 1_000_000)).toContain('number + 2000000 AS n');
    expect(listensInsert(p, 2_000_000, 1_000_000)).toContain('FROM numbers(1000000)');
  });

  it('takes the median and the max', () => {
    expect(medianMax([3, 1, 2])).toEqual({ median: 2, max: 3 });
    expect(medianMax([4, 1, 3, 2])).toEqual({ median: 2.5, max: 4 });
    expect(() => medianMax([])).toThrow(RangeError);
  });

  it('writes one table row per query and variant, the reference under its query, failures included', () => {
    const timings: QueryTiming[] = [
      { name: 'organic-share', variant: 'as-is', reads: ['listen_hourly'], clientMs: [12, 10, 11], serverMs: [6, 5, 7], readRows: 1344, readBytes: 3 * 2 ** 20, memoryBytes: 2 ** 30, resultRows: 28 },
      { name: 'organic-share', variant: 'raw', reads: ['listen_events'], clientMs: [2500, 12_500, 2600], serverMs: [2400, 12_400, 2500], readRows: 10_000_000, readBytes: 2 ** 29, memoryBytes: 2 ** 28, resultRows: 28 },
      { name: 'retention', variant: 'as-is', reads: ['listen_events', 'feedback_events'], clientMs: [], serverMs: [], error: 'Code: 241, Memory limit | exceeded' },
      { name: 'cold-start', variant: 'as-is', reads: ['recommendations'], clientMs: [100], serverMs: [] },
    ];
    expect(queriesTable(timings).split('\n')).toEqual([
      '| query | reads | variant | median s | max s | server median s | rows read | data read | peak memory | result rows |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| organic-share | listen_hourly | views (warehouse/queries.ts) | 0.011 | 0.012 | 0.006 | 1,344 | 3.0 MiB | 1.00 GiB | 28 |',
      '| organic-share | listen_events | raw tables (reference) | 2.600 | 12.5 | 2.500 | 10,000,000 | 512.0 MiB | 256.0 MiB | 28 |',
      '| retention | listen_events, feedback_events | warehouse/queries.ts | failed: Code: 241, Memory limit \\| exceeded | | | | | | |',
      '| cold-start | recommendations | warehouse/queries.ts | 0.100 | 0.100 | – | – | – | – | – |',
    ]);
  });
});
