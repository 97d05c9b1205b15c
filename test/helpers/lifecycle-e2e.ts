import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { clusteredRateVariance, type ClusterSums, type Proportion } from '../../lifecycle/index.js';
import { waitFor } from './kafka.js';

/**
 * Helpers of test/integration/lifecycle.e2e.test.ts: long-running `buddies` processes whose stderr is kept,
 * and the online rates of a BPR version read from the warehouse.
 */

/** A running `buddies` command and everything it wrote on stderr (and stdout) so far. */
export interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  log(): string;
}

/** Starts `node bin/buddies.js ...args` and resolves once `ready` shows in its output (rejects if it exits first). */
export async function spawnBuddies(rootDir: string, name: string, args: readonly string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 180_000): Promise<Running> {
  let out = '';
  const child = spawn('node', [join(rootDir, 'bin/buddies.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
  const running: Running = { name, child, log: () => out };
  await waitFor(() => ready.test(out) || child.exitCode !== null || child.signalCode !== null, `buddies ${name} to run`, timeoutMs, 200);
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`buddies ${args.join(' ')} exited ${child.exitCode ?? child.signalCode}:\n${out.slice(-3000)}`);
  return running;
}

/** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). Idempotent. */
export async function stopProcess(r: Running | undefined, graceMs = 15_000): Promise<void> {
  const c = r?.child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Reactions to the lists of one BPR version in [fromS, toS) (unix seconds of event time), as the warehouse holds them. */
export interface VersionRates {
  readonly impressions: number;
  readonly clicks: number;
  readonly follows: number;
  readonly ctr: number;
  readonly followRate: number;
}

/**
 * Impressions, clicks and follows of the lists served by BPR `bpr` (list model versions `…+bpr:<bpr>`), from
 * `feedback_events` as the sink attributed them to their list (docs/analytics.md).
 */
export async function ratesOf(ch: ClickHouseClient, bpr: string, fromS: number, toS = 4_000_000_000): Promise<VersionRates> {
  if (!/^[0-9a-zA-Z_-]+$/.test(bpr)) throw new Error(`not a version: ${bpr}`);
  const rows = await (await ch.query({
    query: `SELECT countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'CLICK') AS clicks, countIf(kind = 'FOLLOW_PLAYLIST') AS follows
      FROM feedback_events FINAL
      WHERE endsWith(model_version, '+bpr:${bpr}') AND event_time >= toDateTime(${Math.floor(fromS)}) AND event_time < toDateTime(${Math.floor(toS)})`,
    format: 'JSONEachRow',
  })).json<{ impressions: string; clicks: string; follows: string }>();
  const r = rows[0] ?? { impressions: '0', clicks: '0', follows: '0' };
  const impressions = Number(r.impressions);
  const clicks = Number(r.clicks);
  const follows = Number(r.follows);
  return { impressions, clicks, follows, ctr: impressions > 0 ? clicks / impressions : 0, followRate: impressions > 0 ? follows / impressions : 0 };
}

export const fmtRates = (r: VersionRates): string => `ctr ${r.ctr.toFixed(3)} follow ${r.followRate.toFixed(4)} (${r.impressions} impressions)`;

/**
 * Click-through of BPR `bpr`'s lists in [fromS, toS) with the user as the independent unit: the clicks out of the
 * impressions, and the delta-method variance over users (lifecycle/stats.ts), as the canary rule tests.
 */
export async function userCtrOf(ch: ClickHouseClient, bpr: string, fromS: number, toS = 4_000_000_000): Promise<Proportion & { readonly users: number }> {
  if (!/^[0-9a-zA-Z_-]+$/.test(bpr)) throw new Error(`not a version: ${bpr}`);
  const rows = await (await ch.query({
    query: `SELECT count() AS users, sum(i) AS impressions, sum(c) AS clicks, sum(i * i) AS ii, sum(c * c) AS cc, sum(i * c) AS ic FROM (
      SELECT user_id, countIf(kind = 'IMPRESSION') AS i, countIf(kind = 'CLICK') AS c FROM feedback_events FINAL
      WHERE endsWith(model_version, '+bpr:${bpr}') AND event_time >= toDateTime(${Math.floor(fromS)}) AND event_time < toDateTime(${Math.floor(toS)})
      GROUP BY user_id)`,
    format: 'JSONEachRow',
  })).json<Record<string, string>>();
  const n = (k: string) => Number(rows[0]?.[k] ?? 0);
  const sums: ClusterSums = { units: n('users'), trials: n('impressions'), successes: n('clicks'), trials2: n('ii'), successes2: n('cc'), trialsSuccesses: n('ic') };
  return { users: sums.units, successes: sums.successes, trials: sums.trials, variance: clusteredRateVariance(sums) };
}
