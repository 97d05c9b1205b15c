import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../streams/index.js';
import { testConfig } from '../helpers/config.js';
import { randomId, testPrefix } from '../helpers/services.js';
import { createWarehouseClient, warehouseOptions } from '../../warehouse/index.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-first-run-'));
const id = randomId();
const prefix = testPrefix(id);
const database = `test_${id}`;
const cfg = testConfig();

/** `buddies ARGS` as a new user runs it (the compiled CLI), on this test's own topics, database and stack dir. */
function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, BUDDIES_TOPIC_PREFIX: prefix, CLICKHOUSE_DATABASE: database, BUDDIES_STACK_DIR: cfg.stackDir };
  return new Promise((resolve) => {
    execFile('node', [join(cfg.rootDir, 'bin/buddies.js'), ...args], { env, cwd: dir, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const admin = createKafka({ brokers: cfg.kafka.brokers, clientId: `test-${id}` }).admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
  const admin2 = createWarehouseClient(warehouseOptions(cfg), 'default');
  await admin2.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin2.close();
});

// Issue 7: commands run in the wrong order say in one line what to run, with no stack trace; a dataset's
// folder is taken where its file is meant.
describe('a new user on the real stack', () => {
  const lastfm = join(dir, 'hetrec');
  mkdirSync(lastfm);
  writeFileSync(join(lastfm, 'user_artists.dat'), 'userID\tartistID\tweight\n1\t10\t50\n1\t11\t20\n2\t10\t5\n');
  mkdirSync(join(dir, 'empty'));

  it('import before topics ensure names the command to run', async () => {
    const r = await buddies('import', 'lastfm', lastfm, '--no-catalogue');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^buddies import: topics ${prefix.replace('.', '\\.')}buddies\\.playlists\\.v1, .* do not exist: create them with 'buddies topics ensure'\\n$`));
  });

  it('import before warehouse migrate names the command to run', async () => {
    expect((await buddies('topics', 'ensure')).code).toBe(0);
    const r = await buddies('import', 'lastfm', lastfm);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`buddies import: ClickHouse database ${database} does not exist: run 'buddies warehouse migrate'\n`);
    const sink = await buddies('process', 'warehouse');
    expect(sink.code).toBe(1);
    expect(sink.stderr).toBe(`buddies process: ClickHouse database ${database} does not exist: run 'buddies warehouse migrate'\n`);
  });

  it("import lastfm takes the dataset's folder, and says what is wrong with a folder without the file", async () => {
    expect((await buddies('warehouse', 'migrate')).code).toBe(0);
    const r = await buddies('import', 'lastfm', lastfm, '--state', join(dir, 'state.json'));
    expect(r.stderr).toMatch(/import lastfm/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ kind: 'lastfm', rows: 3, rejected: 0 });
    const empty = await buddies('import', 'lastfm', join(dir, 'empty'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`buddies import: ${join(dir, 'empty')} is a folder without user_artists.dat: give the lastfm interactions file\n`);
  });
});
