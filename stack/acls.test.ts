import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRootDir, loadConfig } from '../config/index.js';
import { TOPIC_KEYS, topicNames } from '../streams/index.js';
import { SERVICE_ACCESS, SERVICE_USERS, serviceAcls } from './acls.js';
import { analystTablesSql, secureStackConfig, secureUsersXml } from './secure.js';

// Issue 12: per-service ACLs (the table in docs/security.md is the code's), the analyst's ClickHouse profile
describe('service ACLs', () => {
  it('grant each service only literal topics of the map under the prefix, and prefixes for its groups and stores', () => {
    const topics = topicNames('p.');
    const gateway = serviceAcls('gateway', topics);
    const names = new Set(gateway.filter((a) => a.resourceType === 2).map((a) => a.resourceName));
    expect([...names].sort()).toEqual(['p.buddies.feedback.v1', 'p.buddies.listens.v1', 'p.buddies.recommendations.v1']);
    // WRITE only where it writes
    expect(gateway.filter((a) => a.operation === 4).map((a) => a.resourceName).sort()).toEqual(['p.buddies.feedback.v1', 'p.buddies.listens.v1']);
    expect(serviceAcls('processors', topics).filter((a) => a.resourceType === 2 && a.resourcePatternType === 4).map((a) => a.resourceName))
      .toContain('p.buddies.recommender.');
    for (const u of SERVICE_USERS) {
      for (const k of [...SERVICE_ACCESS[u].reads, ...SERVICE_ACCESS[u].writes]) expect(TOPIC_KEYS).toContain(k);
      expect(serviceAcls(u, topics).every((a) => a.principal === `User:${u}` && a.permissionType === 3 && a.host === '*')).toBe(true);
    }
  });

  it('is the table of docs/security.md', () => {
    const doc = readFileSync(join(findRootDir(), 'docs', 'security.md'), 'utf8');
    const cells = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
    for (const u of SERVICE_USERS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${u} |`));
      expect(row, `docs/security.md has a row for ${u}`).toBeDefined();
      const [, , , reads, writes, groups, txn, own] = row!.split('|').map((c) => c.trim());
      const a = SERVICE_ACCESS[u];
      expect({ reads: cells(reads!), writes: cells(writes!), groups: cells(groups!), txn: cells(txn!), own: cells(own!) })
        .toEqual({ reads: a.reads, writes: a.writes, groups: a.groups, txn: a.transactionalIds, own: a.ownTopics });
    }
  });
});

describe('secure ClickHouse', () => {
  const s = secureStackConfig(loadConfig({}));
  const sec = { ...s, clickhouse: { ...s.clickhouse, password: 'writer-pass', analyst: { ...s.clickhouse.analyst, password: 'analyst-pass', maxRowsToRead: 1234 } } };

  it('stores passwords hashed and gives the analyst a read-only profile on its own database, with limits', () => {
    const xml = secureUsersXml(sec);
    expect(xml).not.toContain('writer-pass');
    expect(xml).not.toContain('analyst-pass');
    expect(xml).toMatch(/<analyst>\s*<readonly>1<\/readonly>/);
    expect(xml).toContain('<max_rows_to_read>1234</max_rows_to_read>');
    expect(xml).toContain('<allow_databases><database>buddies_analyst</database></allow_databases>');
    expect(xml).not.toMatch(/<password>\s*<\/password>|<password\/>/);
  });

  it('exposes exactly the events, recommendations and metrics to the analyst', () => {
    expect(analystTablesSql(sec)).toEqual([
      'CREATE DATABASE IF NOT EXISTS buddies_analyst',
      ...['listen_events', 'feedback_events', 'recommendations', 'metrics'].flatMap((t) => [
        `DROP TABLE IF EXISTS buddies_analyst.${t}`,
        `CREATE TABLE buddies_analyst.${t} AS buddies.${t} ENGINE = Distributed(buddies_analyst_source, buddies, ${t})`,
      ]),
    ]);
  });
});
