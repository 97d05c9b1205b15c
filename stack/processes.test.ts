import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, procStartTime, readPidFile, startDaemon, stopDaemon } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon processes', () => {
  // regression: right after the spawn the child may not have exec'd yet; it is ours all the same
  it('starts a detached process, knows it is alive, stops it and clears the pid file', async () => {
    const marker = `buddies-test-${process.pid}`;
    const pidFile = join(dir, 'd.pid');
    const rec = startDaemon({ command: 'bash', args: ['-c', `exec -a ${marker} sleep 300`], logFile: join(dir, 'd.log'), pidFile, marker });
    expect(readPidFile(pidFile)).toEqual(rec);
    expect(isAlive(rec)).toBe(true);
    expect(await stopDaemon(pidFile, 5000)).toBe('stopped');
    expect(isAlive(rec)).toBe(false);
    expect(readPidFile(pidFile)).toBeUndefined();
    expect(await stopDaemon(pidFile)).toBe('not-running');
  });

  it('does not take a live process with another command line for ours (reused pid)', () => {
    expect(isAlive({ pid: process.pid, marker: 'no-such-marker-xyz', startedAt: '' })).toBe(false);
    expect(isAlive({ pid: 2 ** 22 + 17, marker: 'x', startedAt: '' })).toBe(false);
    expect(isAlive(undefined)).toBe(false);
    // identity by start time: right for this process, wrong for a pid reused by another one
    const start = procStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(isAlive({ pid: process.pid, marker: 'no-such-marker-xyz', startedAt: '', procStart: start })).toBe(true);
    expect(isAlive({ pid: process.pid, marker: 'vitest', startedAt: '', procStart: String(Number(start) + 1) })).toBe(false);
  });
});
