import type { BuddiesConfig } from '../config/index.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LifecycleRecorder, OnlineCounts, VersionCounts } from './warehouse.js';
import { repeatEvery } from './every.js';

/** The online metrics the monitor watches per list model version. */
export type MonitoredMetric = 'ctr' | 'follow_rate' | 'listen_through';
export const MONITORED_METRICS: readonly MonitoredMetric[] = ['ctr', 'follow_rate', 'listen_through'];

/**
 * The degradation rule: for each list model version, each metric over the last `recentMs` is compared with the
 * same version's own trailing average over the `baselineMs` before that. When it fell by more than `threshold`
 * (a share of the baseline: 0.2 is a 20% drop), with at least `minSamples` in both windows (impressions for
 * click-through and follow rate, plays from its lists for listen-through), retraining is triggered; then not
 * again for `cooldownMs`. `k8s/alerts/buddies-rules.yaml` states the same condition as a Prometheus alert.
 */
export type MonitorOptions = BuddiesConfig['lifecycle']['monitor'];

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  recentMs: 3_600_000,
  baselineMs: 24 * 3_600_000,
  threshold: 0.2,
  minSamples: 500,
  intervalMs: 300_000,
  cooldownMs: 6 * 3_600_000,
};

export function checkMonitorOptions(m: MonitorOptions): MonitorOptions {
  const bad = (name: string, v: number, want: string) => new RangeError(`degradation monitor: ${name} must be ${want}, got ${v}`);
  for (const k of ['recentMs', 'baselineMs', 'intervalMs'] as const) if (!(m[k] > 0)) throw bad(k, m[k], 'positive');
  if (!(m.cooldownMs >= 0)) throw bad('cooldownMs', m.cooldownMs, '≥ 0');
  if (!(m.threshold > 0 && m.threshold < 1)) throw bad('threshold', m.threshold, 'in (0, 1)');
  if (!Number.isInteger(m.minSamples) || m.minSamples < 1) throw bad('minSamples', m.minSamples, 'a positive integer');
  return m;
}

/** One metric of one version in a window: its rate and the samples behind it. */
export interface MetricValue {
  readonly rate: number;
  readonly samples: number;
}

export function metricOf(c: VersionCounts, m: MonitoredMetric): MetricValue {
  if (m === 'listen_through') return { rate: c.listens > 0 ? c.playedThrough / c.listens : 0, samples: c.listens };
  const x = m === 'ctr' ? c.clicks : c.follows;
  return { rate: c.impressions > 0 ? x / c.impressions : 0, samples: c.impressions };
}

/** A metric of a version that fell past the threshold. */
export interface Degradation {
  readonly modelVersion: string;
  readonly metric: MonitoredMetric;
  readonly recent: MetricValue;
  readonly baseline: MetricValue;
  /** (baseline − recent) / baseline. */
  readonly drop: number;
}

/** Every (version, metric) with enough samples in both windows, and its drop; `degraded` are those past the threshold. Pure. */
export function evaluateDegradation(recent: readonly VersionCounts[], baseline: readonly VersionCounts[], o: Pick<MonitorOptions, 'threshold' | 'minSamples'>): {
  compared: Degradation[];
  degraded: Degradation[];
} {
  const compared: Degradation[] = [];
  for (const r of recent) {
    const b = baseline.find((x) => x.modelVersion === r.modelVersion);
    if (!b) continue;
    for (const metric of MONITORED_METRICS) {
      const rv = metricOf(r, metric);
      const bv = metricOf(b, metric);
      if (rv.samples < o.minSamples || bv.samples < o.minSamples || !(bv.rate > 0)) continue;
      compared.push({ modelVersion: r.modelVersion, metric, recent: rv, baseline: bv, drop: (bv.rate - rv.rate) / bv.rate });
    }
  }
  return { compared, degraded: compared.filter((d) => d.drop > o.threshold) };
}

export interface DegradationMonitorOptions {
  readonly counts: OnlineCounts;
  readonly recorder: LifecycleRecorder;
  readonly options: MonitorOptions;
  /** Asks for retraining (the trainer's retrain request); called at most once per check, not again within the cooldown. */
  readonly onTrigger: (reason: string) => void | Promise<void>;
  readonly metrics?: Registry;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

export interface MonitorReport {
  readonly outcome: 'ok' | 'triggered' | 'cooldown' | 'error';
  readonly reason: string;
  readonly degraded: readonly Degradation[];
  readonly compared: readonly Degradation[];
}

export interface DegradationMonitor {
  check(): Promise<MonitorReport>;
  start(): void;
  stop(): Promise<void>;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const r3 = (x: number) => Number(x.toPrecision(3));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Prometheus names the monitor exports (the alert rule reads the first two). */
export const MONITOR_METRIC_NAMES = {
  rate: 'buddies_model_online_rate',
  samples: 'buddies_model_online_samples',
  drop: 'buddies_model_degradation',
  triggers: 'buddies_retrain_triggers_total',
  checks: 'buddies_monitor_checks_total',
} as const;

/**
 * The degradation monitor: every interval it reads the online counts of each list model version over the recent
 * and the baseline window from ClickHouse, exports the rates, and when one fell past the threshold calls
 * `onTrigger(reason)` and records the trigger (`model_triggers`, `buddies_retrain_triggers_total`). State: the
 * time of the last trigger, in memory (a restart may trigger once more; the trainer's request is idempotent
 * enough for that).
 */
export function createDegradationMonitor(o: DegradationMonitorOptions): DegradationMonitor {
  const opts = checkMonitorOptions(o.options);
  const log = o.log ?? (() => {});
  const now = o.now ?? Date.now;
  const registers = o.metrics ? [o.metrics] : [];
  const N = MONITOR_METRIC_NAMES;
  const rateGauge = new Gauge({ name: N.rate, help: 'Online rate of a list model version (ctr, follow_rate per impression; listen_through per play), by window (recent, baseline).', labelNames: ['model_version', 'metric', 'window'], registers });
  const samplesGauge = new Gauge({ name: N.samples, help: 'Samples behind buddies_model_online_rate (impressions or plays), by window.', labelNames: ['model_version', 'metric', 'window'], registers });
  const dropGauge = new Gauge({ name: N.drop, help: 'How far a rate fell below its baseline: (baseline - recent) / baseline.', labelNames: ['model_version', 'metric'], registers });
  const triggers = new Counter({ name: N.triggers, help: 'Retraining triggered by the degradation monitor, by metric.', labelNames: ['metric'], registers });
  const checks = new Counter({ name: N.checks, help: 'Degradation checks, by outcome (ok, triggered, cooldown, error).', labelNames: ['outcome'], registers });
  let lastTrigger = -Infinity;

  async function check(): Promise<MonitorReport> {
    const at = now();
    let recent: VersionCounts[];
    let baseline: VersionCounts[];
    try {
      recent = await o.counts.versionCounts(at - opts.recentMs, at + 1000);
      baseline = await o.counts.versionCounts(at - opts.recentMs - opts.baselineMs, at - opts.recentMs);
    } catch (err) {
      checks.inc({ outcome: 'error' });
      log(`monitor: cannot read the online counts (${message(err)}); trying again at the next check`);
      return { outcome: 'error', reason: message(err), degraded: [], compared: [] };
    }
    rateGauge.reset();
    samplesGauge.reset();
    dropGauge.reset();
    for (const [window, rows] of [['recent', recent], ['baseline', baseline]] as const) {
      for (const c of rows) {
        for (const metric of MONITORED_METRICS) {
          const v = metricOf(c, metric);
          rateGauge.set({ model_version: c.modelVersion, metric, window }, v.rate);
          samplesGauge.set({ model_version: c.modelVersion, metric, window }, v.samples);
        }
      }
    }
    const { compared, degraded } = evaluateDegradation(recent, baseline, opts);
    for (const d of compared) dropGauge.set({ model_version: d.modelVersion, metric: d.metric }, d.drop);
    if (degraded.length === 0) {
      checks.inc({ outcome: 'ok' });
      return { outcome: 'ok', reason: `${compared.length} rates compared, none fell more than ${pct(opts.threshold)}`, degraded, compared };
    }
    const reason = `online metrics fell more than ${pct(opts.threshold)} below their baseline: ${degraded
      .map((d) => `${d.metric} of ${d.modelVersion} ${r3(d.recent.rate)} against ${r3(d.baseline.rate)} (-${pct(d.drop)}, ${d.recent.samples}/${d.baseline.samples} samples)`).join('; ')}`;
    if (at - lastTrigger < opts.cooldownMs) {
      checks.inc({ outcome: 'cooldown' });
      return { outcome: 'cooldown', reason: `${reason} (retraining was triggered ${Math.round((at - lastTrigger) / 1000)} s ago)`, degraded, compared };
    }
    lastTrigger = at;
    checks.inc({ outcome: 'triggered' });
    log(`monitor: retraining triggered: ${reason}`);
    for (const d of degraded) triggers.inc({ metric: d.metric });
    for (const d of degraded) {
      await o.recorder.trigger({
        triggerId: `${d.modelVersion}:${d.metric}:${Math.floor(at / 1000)}`, modelVersion: d.modelVersion, metric: d.metric, recent: d.recent.rate, baseline: d.baseline.rate,
        drop: d.drop, threshold: opts.threshold, recentSamples: d.recent.samples, baselineSamples: d.baseline.samples, reason, triggeredAt: at,
      }).catch((err: unknown) => log(`monitor: trigger not recorded in ClickHouse (${message(err)})`));
    }
    try {
      await o.onTrigger(reason);
    } catch (err) {
      log(`monitor: the retraining request failed (${message(err)})`);
    }
    return { outcome: 'triggered', reason, degraded, compared };
  }

  const repeating = repeatEvery(check, opts.intervalMs, (err: unknown) => log(`monitor: check failed: ${message(err)}`));

  return {
    check,
    start: () => repeating.start(),
    stop: () => repeating.stop(),
  };
}
