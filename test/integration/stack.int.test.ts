import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../../config/index.js';

const run = promisify(execFile);
const ROOT = findRootDir();

// A second stack in its own folder and ports, so the suite's stack is never disturbed. It runs only
// ClickHouse (fast to start); Kafka and the registry are never started there, so they must show 'down'.
const dir = mkdtempSync(join(tmpdir(), 'buddies-stack-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  BUDDIES_STACK_DIR: dir,
  BUDDIES_CLICKHOUSE_HTTP_PORT: '18923',
  BUDDIES_CLICKHOUSE_TCP_PORT: '19900',
  BUDDIES_KAFKA_PORT: '19892',
  BUDDIES_KAFKA_CONTROLLER_PORT: '19893',
  BUDDIES_REGISTRY_PORT: '18981',
};
delete env.KAFKA_BROKERS;
delete env.SCHEMA_REGISTRY_URL;
delete env.CLICKHOUSE_URL;

async function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/buddies.js'), ...args], { env, cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const pidOf = () => (JSON.parse(readFileSync(join(dir, 'run', 'clickhouse.pid'), 'utf8')) as { pid: number }).pid;
const statusLine = (out: string, service: string) => out.split('\n').find((l) => l.startsWith(service)) ?? '';

describe('buddies stack (CLI)', () => {
  afterAll(async () => {
    await buddies('stack', 'down');
    rmSync(dir, { recursive: true, force: true });
  });

  it('up twice is a no-op, and status tells the truth when a service dies', async () => {
    const first = await buddies('stack', 'up', 'clickhouse');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/clickhouse: started/);
    const pid = pidOf();

    const second = await buddies('stack', 'up', 'clickhouse');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/clickhouse: already up/);
    expect(second.stderr).not.toMatch(/started/);
    expect(pidOf()).toBe(pid);

    const up = await buddies('stack', 'status');
    expect(up.code).toBe(1); // kafka and registry were never started in this folder
    expect(statusLine(up.stdout, 'clickhouse')).toMatch(/^clickhouse\s+up\s+local\s+\d+\s+http:\/\/127\.0\.0\.1:18923/);
    expect(statusLine(up.stdout, 'kafka')).toMatch(/^kafka\s+down/);
    expect(statusLine(up.stdout, 'registry')).toMatch(/^registry\s+down/);
    expect((await buddies('stack', 'status', 'clickhouse')).code).toBe(0);

    process.kill(pid, 'SIGKILL');
    const { waitFor } = await import('../helpers/kafka.js');
    await waitFor(async () => (await buddies('stack', 'status', 'clickhouse')).code === 1, 'status to see the killed server');
    const down = await buddies('stack', 'status', 'clickhouse');
    expect(statusLine(down.stdout, 'clickhouse')).toMatch(/^clickhouse\s+down\s+local\s+-/);

    // the stale pid file is replaced by the next up
    const again = await buddies('stack', 'up', 'clickhouse');
    expect(again.code, again.stderr).toBe(0);
    expect(pidOf()).not.toBe(pid);
    const stopped = await buddies('stack', 'down', 'clickhouse');
    expect(stopped.stderr).toMatch(/clickhouse: stopped/);
    expect((await buddies('stack', 'status', 'clickhouse')).code).toBe(1);
  });

  it('rejects an unknown service and an unknown action with exit code 2', async () => {
    expect((await buddies('stack', 'up', 'postgres')).code).toBe(2);
    expect((await buddies('stack', 'explode')).code).toBe(2);
  });
});
