import { describe, expect, it } from 'vitest';
import type { CronSchedule } from './cron.js';
import { createTopPicksScheduler, type TopPicksResult } from './top-picks.js';
import { createTopPicksMetrics } from './top-picks-metrics.js';

const RESULT: TopPicksResult = { users: 2, lists: 2, coldStart: 0, canary: 0, batches: 1, batchSizes: [2], seconds: 0.01, modelVersion: 'm' };

/** A schedule that fires `everyMs` after each asked time (a cron expression cannot fire more than once a minute). */
const every = (everyMs: number): CronSchedule => ({ source: `every ${everyMs} ms`, next: (after) => after + everyMs, matches: () => true });

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

// Issue 10, part 5: the Top Picks service runs at each fire and survives a failed run.
describe('createTopPicksScheduler', () => {
  it('runs at each fire, counts a failed run and runs again at the next fire, and stops', async () => {
    const metrics = createTopPicksMetrics({ defaultMetrics: false });
    const lines: string[] = [];
    let calls = 0;
    const s = createTopPicksScheduler({
      schedule: every(20), metrics, log: (l) => lines.push(l),
      run: async () => {
        calls++;
        if (calls === 2) throw new Error('broker went away');
        return RESULT;
      },
    });
    const loop = s.run();
    await until(() => calls >= 3, 'three runs');
    expect(s.running).toBe(true);
    await s.stop();
    await loop;
    expect(s.running).toBe(false);
    expect(lines.some((l) => /run failed \(broker went away\); the next fire runs again/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('top picks: published 2 daily lists')).length).toBeGreaterThanOrEqual(2);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/buddies_top_picks_runs_total\{status="failed"\} 1/);
    expect(text).toMatch(/buddies_top_picks_next_run_timestamp_seconds 0/);
  });

  it('stop ends the wait for a far fire at once', async () => {
    let calls = 0;
    const s = createTopPicksScheduler({ schedule: every(3_600_000), run: async () => { calls++; return RESULT; } });
    const loop = s.run();
    await until(() => s.running, 'the loop to start');
    const t0 = Date.now();
    await s.stop();
    await loop;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(calls).toBe(0);
  });
});
