import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDegradationMonitor, DEFAULT_MONITOR_OPTIONS, evaluateDegradation, type MonitorOptions } from './monitor.js';
import type { LifecycleRecorder, TriggerRow, VersionCounts } from './warehouse.js';

const counts = (modelVersion: string, impressions: number, clicks: number, follows: number, listens: number, playedThrough: number): VersionCounts => ({
  modelVersion, impressions, clicks, follows, listens, playedThrough,
});
const opts: MonitorOptions = { ...DEFAULT_MONITOR_OPTIONS, threshold: 0.2, minSamples: 100, recentMs: 10_000, baselineMs: 60_000, cooldownMs: 30_000 };

describe('degradation thresholds (issue 10)', () => {
  it('flags a rate that fell more than the threshold below its own baseline, and only that', () => {
    const recent = [counts('v1', 1000, 79, 20, 500, 400)]; // ctr 0.079 vs 0.1: -21%; follow 0.02 vs 0.02; listen-through 0.8 vs 0.85: -5.9%
    const baseline = [counts('v1', 5000, 500, 100, 2000, 1700)];
    const { compared, degraded } = evaluateDegradation(recent, baseline, opts);
    expect(compared.map((d) => d.metric)).toEqual(['ctr', 'follow_rate', 'listen_through']);
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toMatchObject({ modelVersion: 'v1', metric: 'ctr', recent: { rate: 0.079, samples: 1000 }, baseline: { rate: 0.1, samples: 5000 } });
    expect(degraded[0]!.drop).toBeCloseTo(0.21, 10);
    // 19% is within the threshold
    expect(evaluateDegradation([counts('v1', 1000, 81, 20, 500, 425)], baseline, opts).degraded).toEqual([]);
  });

  it('ignores versions without enough samples in either window, or without a baseline', () => {
    const baseline = [counts('v1', 5000, 500, 100, 50, 45)];
    expect(evaluateDegradation([counts('v1', 99, 1, 0, 500, 100)], baseline, opts).compared).toEqual([]);
    const listenThin = evaluateDegradation([counts('v1', 1000, 100, 20, 500, 100)], baseline, opts);
    expect(listenThin.compared.map((d) => d.metric)).toEqual(['ctr', 'follow_rate']); // 50 baseline plays < 100
    expect(evaluateDegradation([counts('v2', 1000, 1, 0, 500, 0)], baseline, opts).compared).toEqual([]);
  });
});

describe('the degradation monitor (issue 10)', () => {
  function setup(recent: VersionCounts[]) {
    const calls: Array<[number, number]> = [];
    const triggers: TriggerRow[] = [];
    const reasons: string[] = [];
    const clock = { t: 1_000_000 };
    const recorder: LifecycleRecorder = { decision: async () => {}, trigger: async (t) => void triggers.push(t) };
    const metrics = new Registry();
    const monitor = createDegradationMonitor({
      counts: {
        bprArms: async () => [],
        async versionCounts(from, to) {
          calls.push([from, to]);
          return to <= clock.t - opts.recentMs ? [counts('v1', 5000, 500, 100, 2000, 1700)] : recent;
        },
      },
      recorder, options: opts, metrics, now: () => clock.t, onTrigger: (r) => void reasons.push(r),
    });
    return { monitor, calls, triggers, reasons, clock, metrics };
  }

  it('triggers retraining once per cooldown, records the trigger and exports the rates', async () => {
    const { monitor, calls, triggers, reasons, clock, metrics } = setup([counts('v1', 1000, 50, 20, 500, 400)]);
    const r = await monitor.check();
    expect(r.outcome).toBe('triggered');
    expect(calls).toEqual([[1_000_000 - 10_000, 1_001_000], [1_000_000 - 70_000, 1_000_000 - 10_000]]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^online metrics fell more than 20% below their baseline: ctr of v1 0.05 against 0.1 \(-50%, 1000\/5000 samples\)$/);
    expect(triggers).toEqual([expect.objectContaining({ modelVersion: 'v1', metric: 'ctr', recent: 0.05, baseline: 0.1, drop: 0.5, threshold: 0.2, triggeredAt: 1_000_000 })]);
    const text = await metrics.metrics();
    expect(text).toMatch(/buddies_model_online_rate\{model_version="v1",metric="ctr",window="recent"\} 0.05/);
    expect(text).toMatch(/buddies_model_degradation\{model_version="v1",metric="ctr"\} 0.5/);
    expect(text).toMatch(/buddies_retrain_triggers_total\{metric="ctr"\} 1/);
    clock.t += 20_000;
    expect((await monitor.check()).outcome).toBe('cooldown');
    clock.t += 20_000;
    expect((await monitor.check()).outcome).toBe('triggered');
    expect(reasons).toHaveLength(2);
  });

  it('stays quiet when the rates hold', async () => {
    const { monitor, reasons } = setup([counts('v1', 1000, 98, 20, 500, 420)]);
    expect((await monitor.check()).outcome).toBe('ok');
    expect(reasons).toEqual([]);
  });
});
