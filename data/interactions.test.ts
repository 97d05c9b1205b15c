import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoadReport, readInteractions, type Interaction, type InteractionFormat, type LoadReport } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'buddies-inter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, format: InteractionFormat, report: LoadReport): Promise<Interaction[]> {
  const out: Interaction[] = [];
  for await (const i of readInteractions(path, format, report)) out.push(i);
  return out;
}

describe('readInteractions', () => {
  it('reads Last.fm user_artists.dat, skipping its header', async () => {
    const f = join(dir, 'user_artists.dat');
    await writeFile(f, 'userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n');
    const report = createLoadReport();
    expect(await collect(f, 'lastfm', report)).toEqual([
      { user: '2', item: '51', weight: 13883 },
      { user: '2', item: '52', weight: 11690 },
    ]);
    expect(report).toMatchObject({ files: 1, records: 2, rejectedCount: 0 });
  });

  it('reads Taste Profile triplets without header, gzipped too', async () => {
    const body = 'b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t1\nb80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAPDEY12A81C210A9\t7\n';
    const plain = join(dir, 'triplets.tsv');
    const gz = join(dir, 'triplets.tsv.gz');
    await writeFile(plain, body);
    await writeFile(gz, gzipSync(body));
    for (const f of [plain, gz]) {
      const report = createLoadReport();
      const got = await collect(f, 'triplets', report);
      expect(got.map((i) => [i.item, i.weight])).toEqual([
        ['SOAKIMP12A8C130995', 1],
        ['SOAPDEY12A81C210A9', 7],
      ]);
      expect(report.records).toBe(2);
      // progress is measured in bytes of the file as stored (compressed for .gz)
      expect(report.bytesRead).toBe((await stat(f)).size);
    }
  });

  it('reports malformed lines with their line number and goes on', async () => {
    const f = join(dir, 'bad.tsv');
    await writeFile(f, 'u1\ts1\t3\nu1 s2 4\n\nu2\t\t1\nu2\ts3\tmany\nu3\ts4\t-2\nu3\ts5\t2\n');
    const report = createLoadReport();
    const got = await collect(f, 'triplets', report);
    expect(got.map((i) => i.item)).toEqual(['s1', 's5']);
    expect(report.rejected.map((r) => [r.line, r.reason])).toEqual([
      [2, 'expected 3 tab-separated fields, got 1'],
      [4, 'empty item'],
      [5, 'bad weight "many"'],
      [6, 'bad weight "-2"'],
    ]);
    expect(report.rejectedCount).toBe(4);
  });

  it('reports a missing file without throwing', async () => {
    const report = createLoadReport();
    expect(await collect(join(dir, 'nope.tsv'), 'triplets', report)).toEqual([]);
    expect(report.rejectedCount).toBe(1);
    expect(report.rejected[0]?.reason).toMatch(/cannot read/);
  });
});
