import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { loadConfig } from '../config/index.js';
import { describeFailure } from './failure.js';
import { main } from './main.js';

/** Runs `buddies ARGS` in-process with `env` over the process environment; returns the exit code and what it printed. */
async function run(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await main(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.env = saved;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('buddies main', () => {
  it('prints help listing the commands with exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stack\s+run the local Kafka/);
    expect(r.stdout).toMatch(/topics\s+create the Kafka topics/);
    expect(r.stdout).toMatch(/--verbose/);
  });

  it('answers an unknown command and a bad flag with exit 2', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['stack', 'up', 'postgres'])).code).toBe(2);
  });

  it('reports a bad environment variable in one line with exit 2', async () => {
    const r = await run(['topics', 'list'], { BUDDIES_KAFKA_PORT: 'ninety' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/BUDDIES_KAFKA_PORT=ninety is not a TCP port/);
  });

  it('reports a missing input file in one line with exit 1, and its stack only with --verbose', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'main-'));
    try {
      const args = ['offline', 'train-bpr', '--interactions', join(dir, 'nope.dat'), '--format', 'lastfm', '--out', join(dir, 'm')];
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`buddies offline: ${join(dir, 'nope.dat')}: no such file\n`);
      const v = await run(['--verbose', ...args]);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/DatasetError: .*no such file\n\s+at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says which service is down and what to run, in one line, when nothing listens on its port', async () => {
    // port 1 on loopback: nothing listens there, so the connection is refused at once
    const r = await run(['warehouse', 'migrate'], { CLICKHOUSE_URL: 'http://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("buddies warehouse: ClickHouse at 127.0.0.1:1 is not reachable: check CLICKHOUSE_URL\n");
    const local = await run(['warehouse', 'migrate'], { BUDDIES_CLICKHOUSE_HTTP_PORT: '1' });
    expect(local.stderr).toBe("buddies warehouse: ClickHouse at 127.0.0.1:1 is not reachable: start the local stack with 'buddies stack up' (status: 'buddies stack status')\n");
  });

  it('says which port is taken when a server cannot listen', async () => {
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, '0.0.0.0', () => resolve()));
    const port = (first.address() as AddressInfo).port;
    try {
      const second = createServer();
      const err = await new Promise<unknown>((resolve) => { second.once('error', resolve); second.listen(port, '0.0.0.0'); });
      expect(describeFailure(err, loadConfig({}))).toEqual({
        line: `port ${port} is already in use: pick a free one (--metrics-port, or BUDDIES_METRICS_PORT; 0 takes any)`, expected: true,
      });
    } finally {
      first.close();
    }
  });
});
