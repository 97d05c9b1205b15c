import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** What `up` records for a process it started, so `down` and `status` act only on what `up` started. */
export interface PidRecord {
  readonly pid: number;
  /** A string in the daemon's command line (checked where the start time below is unknown). */
  readonly marker: string;
  readonly startedAt: string;
  /**
   * The process's start time in clock ticks since boot (/proc/PID/stat field 22), read right after the
   * spawn: a pid reused by another process has another start time. Fixed at fork, so unlike the command
   * line it is right even before the child has exec'd.
   */
  readonly procStart?: string;
}

/** Field 22 of /proc/PID/stat, or undefined (no such process, or no /proc). */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function readPidFile(path: string): PidRecord | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
    return Number.isInteger(rec.pid) && typeof rec.marker === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** True when `rec` names a live process that is still the one we started. */
export function isAlive(rec: PidRecord | undefined): rec is PidRecord {
  if (!rec) return false;
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // field 3 is the state (Z zombie, X dead); field 22 the start time
    if (fields[0] === 'Z' || fields[0] === 'X') return false;
    if (rec.procStart !== undefined) return fields[19] === rec.procStart;
    return readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(rec.marker);
  } catch {
    return false; // no /proc entry: gone
  }
}

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly marker: string;
}

/** Starts a detached daemon (own process group) writing to `logFile`, and records its pid. */
export function startDaemon(opts: StartOptions): PidRecord {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  mkdirSync(dirname(opts.pidFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.command, [...opts.args], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${opts.command}`);
    child.unref();
    const rec: PidRecord = { pid: child.pid, marker: opts.marker, startedAt: new Date().toISOString(), procStart: procStartTime(child.pid) };
    writeFileSync(opts.pidFile, `${JSON.stringify(rec)}\n`);
    return rec;
  } finally {
    closeSync(fd);
  }
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes; `failFast` ends the wait early with
 * its message (e.g. the process died). Returns undefined on success, else the reason.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; failFast?: () => string | undefined },
): Promise<string | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check()) return undefined;
    const fail = opts.failFast?.();
    if (fail) return fail;
    if (Date.now() > deadline) return `not ready after ${Math.round(opts.timeoutMs / 1000)} s`;
    await delay(opts.intervalMs ?? 250);
  }
}

/** SIGTERM to the daemon's process group, SIGKILL after `graceMs`; removes the pid file. */
export async function stopDaemon(pidFile: string, graceMs = 30_000): Promise<'stopped' | 'not-running'> {
  const rec = readPidFile(pidFile);
  if (!isAlive(rec)) {
    rmSync(pidFile, { force: true });
    return 'not-running';
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const timedOut = await waitUntil(async () => !isAlive(rec), { timeoutMs: graceMs, intervalMs: 200 });
  if (timedOut) {
    signal('SIGKILL');
    await waitUntil(async () => !isAlive(rec), { timeoutMs: 10_000, intervalMs: 100 });
  }
  rmSync(pidFile, { force: true });
  return 'stopped';
}
