import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../models/bpr/index.js';
import { createIdMap } from '../models/interactions.js';
import { createModelRegistry, promote, startCanary, type AnnouncementLog, type LifecycleDeps } from '../registry/index.js';
import type { ModelAnnouncement } from '../streams/index.js';
import { createCanaryController } from './controller.js';
import { DEFAULT_CANARY_RULE } from './decision.js';
import type { BprArm, DecisionRow, LifecycleRecorder, OnlineCounts } from './warehouse.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'controller-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function memoryLog(): AnnouncementLog {
  const latest = new Map<string, ModelAnnouncement>();
  return {
    latest: async () => new Map(latest),
    async write(records) {
      for (const r of records) {
        if (r.value === null) latest.delete(r.key);
        else latest.set(r.key, r.value);
      }
    },
  };
}

/** Production and a candidate in canary (share 0.5, started at t = 1000), a clock the test moves. */
async function setup() {
  const registry = createModelRegistry(join(work, 'models'));
  const versions: string[] = [];
  for (const i of [1, 2]) {
    const dir = join(work, `b${i}`);
    await saveFactors({
      factors: 2, itemBias: true, stride: 3, users: createIdMap(['u']), items: createIdMap(['p']),
      userFactors: Float32Array.from([i, 0, 1]), itemFactors: Float32Array.from([0, i, 1]),
    }, dir, { ...DEFAULT_BPR_OPTIONS, factors: 2 }, 'cpu-js');
    versions.push((await registry.publish('BPR', dir, { params: {}, metrics: {}, backend: 'cpu-js' })).version);
  }
  const clock = { t: 1000 };
  const deps: LifecycleDeps = { registry, announcements: memoryLog(), now: () => clock.t };
  await promote(deps, 'BPR', versions[0]);
  await startCanary(deps, 'BPR', versions[1]!, 0.5);
  const [prod, cand] = versions as [string, string];
  return { deps, registry, prod, cand, clock };
}

function fakeCounts(arms: () => BprArm[] | Error): OnlineCounts & { since: number[] } {
  const since: number[] = [];
  return {
    since,
    async bprArms(s) {
      since.push(s);
      const a = arms();
      if (a instanceof Error) throw a;
      return a;
    },
    versionCounts: async () => [],
  };
}

function fakeRecorder(failFirst = 0): LifecycleRecorder & { rows: DecisionRow[] } {
  const rows: DecisionRow[] = [];
  let fails = failFirst;
  return {
    rows,
    async decision(d) {
      if (fails-- > 0) throw new Error('ClickHouse down');
      rows.push(d);
    },
    trigger: async () => {},
  };
}

const rule = { ...DEFAULT_CANARY_RULE, minImpressions: 100, maxFailedChecks: 3, deadlineMs: 10_000 };
const arm = (bprVersion: string, impressions: number, clicks: number, follows: number): BprArm => ({ bprVersion, listVersion: `buddies@emb:e+bpr:${bprVersion}`, impressions, clicks, follows });

describe('the canary controller (issue 10)', () => {
  it('rolls back a canary whose click-through is significantly worse, and records the decision with its numbers', async () => {
    const { deps, registry, prod, cand, clock } = await setup();
    const counts = fakeCounts(() => [arm(prod, 1000, 100, 20), arm(cand, 1000, 40, 20)]);
    const recorder = fakeRecorder();
    const metrics = new Registry();
    const c = createCanaryController({ deps, counts, recorder, rule, metrics, now: () => clock.t });
    clock.t = 4000;
    const r = await c.check();
    expect(r).toMatchObject({ outcome: 'rollback', decision: 'rollback', canaryVersion: cand, productionVersion: prod });
    expect(counts.since).toEqual([1000]); // counted from the canary's start
    expect((await registry.get('BPR', cand))!.status).toBe('retired');
    expect((await registry.get('BPR', prod))!.status).toBe('production');
    expect((await deps.announcements.latest()).has('bpr@canary')).toBe(false);
    expect(recorder.rows).toHaveLength(1);
    expect(recorder.rows[0]).toMatchObject({
      decisionId: `bpr:${cand}:1000`, modelName: 'bpr', decision: 'rollback', canaryVersion: `buddies@emb:e+bpr:${cand}`, productionVersion: `buddies@emb:e+bpr:${prod}`,
      startedAt: 1000, decidedAt: 4000, canary: { impressions: 1000, clicks: 40 }, production: { impressions: 1000, clicks: 100 }, share: 0.5, failedChecks: 0,
    });
    expect(recorder.rows[0]!.ctr.p).toBeLessThan(0.001);
    const text = await metrics.metrics();
    expect(text).toMatch(/buddies_canary_decisions_total\{decision="rollback"\} 1/);
    expect(text).toMatch(/buddies_canary_rate\{arm="canary",metric="ctr"\} 0.04/);
    // nothing left to decide
    expect((await c.check()).outcome).toBe('idle');
  });

  it('promotes a canary shown not worse', async () => {
    const { deps, registry, cand, prod, clock } = await setup();
    const c = createCanaryController({ deps, counts: fakeCounts(() => [arm(prod, 50_000, 5000, 1000), arm(cand, 50_000, 5050, 1010)]), recorder: fakeRecorder(), rule, now: () => clock.t });
    expect((await c.check()).decision).toBe('promote');
    expect((await registry.get('BPR', cand))!.status).toBe('production');
    expect((await deps.announcements.latest()).get('bpr')?.modelVersion).toBe(cand);
  });

  it('rolls back after maxFailedChecks failed checks in a row (ClickHouse unreachable); a good check resets the streak', async () => {
    const { deps, registry, cand, prod, clock } = await setup();
    let down = true;
    const counts = fakeCounts(() => (down ? new Error('connect ECONNREFUSED 127.0.0.1:1') : [arm(prod, 10, 1, 0), arm(cand, 10, 1, 0)]));
    const recorder = fakeRecorder(1); // the first write of the decision fails too: retried at the next check
    const c = createCanaryController({ deps, counts, recorder, rule, now: () => clock.t });
    expect(await c.check()).toMatchObject({ outcome: 'fail', failedInARow: 1 });
    expect(await c.check()).toMatchObject({ outcome: 'fail', failedInARow: 2 });
    down = false;
    expect(await c.check()).toMatchObject({ outcome: 'wait', failedInARow: 0 });
    down = true;
    await c.check();
    await c.check();
    const r = await c.check();
    expect(r).toMatchObject({ decision: 'rollback' });
    expect(r.reason).toMatch(/^3 failed checks in a row \(the last: cannot read the online counts: connect ECONNREFUSED/);
    expect((await registry.get('BPR', cand))!.status).toBe('retired');
    expect(recorder.rows).toHaveLength(0);
    expect(c.unrecorded()).toBe(1);
    await c.check();
    expect(c.unrecorded()).toBe(0);
    expect(recorder.rows[0]).toMatchObject({ decision: 'rollback', failedChecks: 3, canaryVersion: `bpr:${cand}`, canary: { impressions: 0 } });
  });

  it('fails checks without enough data past the deadline, and rolls back at the third', async () => {
    const { deps, cand, prod, clock } = await setup();
    const c = createCanaryController({ deps, counts: fakeCounts(() => [arm(prod, 500, 50, 5), arm(cand, 20, 2, 0)]), recorder: fakeRecorder(), rule, now: () => clock.t });
    expect((await c.check()).outcome).toBe('wait');
    clock.t = 20_000;
    expect((await c.check()).outcome).toBe('fail');
    expect((await c.check()).outcome).toBe('fail');
    expect((await c.check()).decision).toBe('rollback');
  });

  it('checks on a timer until stopped', async () => {
    const { deps, cand, prod, clock } = await setup();
    const counts = fakeCounts(() => [arm(prod, 1000, 100, 20), arm(cand, 1000, 40, 20)]);
    const c = createCanaryController({ deps, counts, recorder: fakeRecorder(), rule: { ...rule, intervalMs: 10 }, now: () => clock.t });
    c.start();
    const deadline = Date.now() + 5000;
    const retired = async () => (await deps.registry.get('BPR', cand))!.status === 'retired';
    while (!(await retired()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await c.stop();
    expect(await retired()).toBe(true);
    const checks = counts.since.length;
    await new Promise((r) => setTimeout(r, 50)); // stopped: no check after stop() resolved
    expect(counts.since.length).toBe(checks);
  });
});
