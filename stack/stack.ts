import { existsSync, readFileSync } from 'node:fs';
import type { BuddiesConfig } from '../config/index.js';
import { isAlive, readPidFile, startDaemon, stopDaemon, waitUntil } from './processes.js';
import { clickhouseService, kafkaService, portInUse, registryService, type ServiceDef, type ServiceName } from './services.js';
import { findClickhouseBinary, setupStack } from './setup.js';

export type Health = 'up' | 'down' | 'starting' | 'unhealthy';

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly address: string;
  readonly managed: 'local' | 'external';
  readonly pid: number | undefined;
  readonly health: Health;
}

type Log = (line: string) => void;

/** The stack's services in start order (the registry last: it is the slowest and needs nothing else). */
export function stackServices(cfg: BuddiesConfig, clickhouseBinary?: string): ServiceDef[] {
  return [kafkaService(cfg), clickhouseService(cfg, clickhouseBinary ?? findClickhouseBinary()), registryService(cfg)];
}

function lastLines(file: string, n: number): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').split('\n');
  return lines.slice(Math.max(0, lines.length - n - 1)).join('\n');
}

/**
 * Starts every local service that is not already running and waits until each answers.
 * Idempotent: services already up are left alone; stale pid files (dead or reused pids) are replaced.
 */
export async function stackUp(cfg: BuddiesConfig, log: Log, only?: readonly ServiceName[]): Promise<ServiceStatus[]> {
  const { clickhouseBinary } = setupStack(cfg, log);
  await startServices(stackServices(cfg, clickhouseBinary).filter((s) => !only || only.includes(s.name)), log);
  return stackStatus(cfg, only);
}

/** Starts those of `services` that are not running, then waits until each answers (shared with the secure stack). */
export async function startServices(services: readonly ServiceDef[], log: Log): Promise<void> {
  // Start everything first, then wait: the JVMs boot in parallel.
  const started: ServiceDef[] = [];
  for (const svc of services) {
    if (svc.external) continue;
    if (isAlive(readPidFile(svc.pidFile))) continue;
    if (await svc.health()) {
      throw new Error(`${svc.name}: something not started by this stack already answers at ${svc.address}; stop it, or set the port / external URL (see README, Configuration)`);
    }
    if (await portInUse(svc.port)) {
      throw new Error(`${svc.name}: port ${svc.port} is taken by another program; choose another port (see README, Configuration)`);
    }
    svc.prepare();
    const rec = startDaemon(svc.launch());
    log(`${svc.name}: started (pid ${rec.pid}), log ${svc.logFile}`);
    started.push(svc);
  }
  const failures: string[] = [];
  const summaries: string[] = [];
  await Promise.all(services.map(async (svc) => {
    const rec = readPidFile(svc.pidFile);
    const problem = await waitUntil(() => svc.health(), {
      timeoutMs: svc.startTimeoutMs,
      failFast: svc.external ? undefined : () => (isAlive(rec) ? undefined : 'the process exited'),
    });
    if (problem) {
      summaries.push(`${svc.name} at ${svc.address}: ${problem}${svc.external ? '' : ` (its log: ${svc.logFile})`}`);
      failures.push(`${svc.name} at ${svc.address}: ${problem}${svc.external ? '' : `\n--- last lines of ${svc.logFile} ---\n${lastLines(svc.logFile, 25)}`}`);
    } else if (started.includes(svc)) {
      log(`${svc.name}: ready at ${svc.address}`);
    } else {
      log(`${svc.name}: already up at ${svc.address}`);
    }
  }));
  // the first line names each service that failed and why (the CLI shows only that line); the logs' tails follow
  if (failures.length > 0) throw new Error(`stack up failed: ${summaries.join('; ')}\n${failures.join('\n')}`);
}

/** Stops the services this stack started (never external ones), in reverse start order. */
export async function stackDown(cfg: BuddiesConfig, log: Log, only?: readonly ServiceName[]): Promise<void> {
  await stopServices(stackServices(cfg).filter((s) => !only || only.includes(s.name)), log);
}

/** Stops those of `services` this stack started, in reverse order. */
export async function stopServices(services: readonly ServiceDef[], log: Log): Promise<void> {
  for (const svc of [...services].reverse()) {
    if (svc.external) {
      log(`${svc.name}: external (${svc.address}), left alone`);
      continue;
    }
    const r = await stopDaemon(svc.pidFile);
    log(`${svc.name}: ${r === 'stopped' ? 'stopped' : 'was not running'}`);
  }
}

/** The truth about each service: its recorded process and whether it answers a real request now. */
export async function stackStatus(cfg: BuddiesConfig, only?: readonly ServiceName[]): Promise<ServiceStatus[]> {
  return servicesStatus(stackServices(cfg).filter((s) => !only || only.includes(s.name)));
}

export async function servicesStatus(services: readonly ServiceDef[]): Promise<ServiceStatus[]> {
  return Promise.all(services.map(async (svc): Promise<ServiceStatus> => {
    const rec = readPidFile(svc.pidFile);
    const alive = isAlive(rec);
    const answers = await svc.health();
    let health: Health;
    if (svc.external) health = answers ? 'up' : 'down';
    else if (!alive) health = 'down';
    else health = answers ? 'up' : 'starting';
    return { name: svc.name, address: svc.address, managed: svc.external ? 'external' : 'local', pid: alive ? rec.pid : undefined, health };
  }));
}

export function formatStatus(rows: readonly ServiceStatus[]): string {
  const lines = rows.map((r) => `${r.name.padEnd(11)} ${r.health.padEnd(9)} ${r.managed.padEnd(9)} ${String(r.pid ?? '-').padEnd(8)} ${r.address}`);
  return [`${'service'.padEnd(11)} ${'health'.padEnd(9)} ${'managed'.padEnd(9)} ${'pid'.padEnd(8)} address`, ...lines].join('\n');
}
