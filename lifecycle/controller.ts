import { Counter, Gauge, type Registry } from 'prom-client';
import { canaryModelName, canaryOf, MODEL_NAMES, promote, rollback, type LifecycleDeps } from '../registry/index.js';
import { checkCanaryRule, decideCanary, type ArmCounts, type CanaryCheck, type CanaryRule, type CheckOutcome } from './decision.js';
import type { BprArm, DecisionRow, LifecycleRecorder, OnlineCounts } from './warehouse.js';
import { repeatEvery } from './every.js';

export interface CanaryControllerOptions {
  /** The registry and the announcements topic (what is served). */
  readonly deps: LifecycleDeps;
  readonly counts: OnlineCounts;
  readonly recorder: LifecycleRecorder;
  readonly rule: CanaryRule;
  /** Prometheus registry for the controller's metrics. */
  readonly metrics?: Registry;
  readonly log?: (line: string) => void;
  /** Epoch ms. */
  readonly now?: () => number;
}

/** What one check saw and did. */
export interface CheckReport {
  /** `idle`: no canary; `error`: the announcements could not be read (nothing known, nothing done). */
  readonly outcome: CheckOutcome | 'idle' | 'error';
  readonly reason: string;
  readonly canaryVersion?: string;
  readonly productionVersion?: string;
  readonly failedInARow: number;
  /** The decision acted on (promoted or rolled back), when one was. */
  readonly decision?: 'promote' | 'rollback';
  readonly check?: CanaryCheck;
}

export interface CanaryController {
  /** One check of the BPR canary: reads what is served and the counts, applies the rule, acts and records. */
  check(): Promise<CheckReport>;
  /** Checks every `rule.intervalMs` until {@link stop} (the first check at once). */
  start(): void;
  /** Stops the timer and waits for a check in flight. Idempotent. */
  stop(): Promise<void>;
  /** Failed checks in a row of the current canary. */
  failedInARow(): number;
  /** Decisions acted on whose row could not be written yet (retried at each check). */
  unrecorded(): number;
}

const NO_COUNTS: ArmCounts = { impressions: 0, clicks: 0, follows: 0 };
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The canary controller: every interval it applies the canary rule ({@link decideCanary}) to the online counts of
 * the BPR canary and of production since the canary started, and promotes or rolls back. A check that cannot
 * read the counts (ClickHouse down) fails, as do checks past the rule's deadline without a conclusion;
 * `maxFailedChecks` failures in a row roll back. Every decision goes to `model_decisions` with its numbers and to
 * `buddies_canary_decisions_total`.
 *
 * State: the failure streak lives in memory; a restarted controller starts it again from 0 (a canary is never
 * promoted by a restart, at worst rolled back later). Everything else is read each time: the canary and its
 * start from the announcements topic, the counts from ClickHouse.
 */
export function createCanaryController(o: CanaryControllerOptions): CanaryController {
  const rule = checkCanaryRule(o.rule);
  const log = o.log ?? (() => {});
  const now = o.now ?? Date.now;
  const kind = 'BPR' as const;
  const name = MODEL_NAMES[kind];
  const registers = o.metrics ? [o.metrics] : [];
  const checks = new Counter({ name: 'buddies_canary_checks_total', help: 'Canary checks, by outcome (promote, rollback, wait, fail, idle, error).', labelNames: ['outcome'], registers });
  const decisions = new Counter({ name: 'buddies_canary_decisions_total', help: 'Canary decisions acted on, by decision (promote, rollback).', labelNames: ['decision'], registers });
  const failedGauge = new Gauge({ name: 'buddies_canary_failed_checks_in_a_row', help: 'Failed checks in a row of the running canary.', registers });
  const share = new Gauge({ name: 'buddies_canary_share', help: 'Share of users served by the BPR canary (0: no canary).', registers });
  const impressions = new Gauge({ name: 'buddies_canary_impressions', help: 'Impressions since the canary started, by arm.', labelNames: ['arm'], registers });
  const rates = new Gauge({ name: 'buddies_canary_rate', help: 'Click-through and follow rate since the canary started, by arm.', labelNames: ['arm', 'metric'], registers });
  const pValues = new Gauge({ name: 'buddies_canary_test_p', help: 'One-sided p-value of the last check, by metric and test (worse, non_inferior).', labelNames: ['metric', 'test'], registers });
  const lastDecision = new Gauge({ name: 'buddies_canary_last_decision_timestamp_seconds', help: 'When the last decision was acted on, by decision.', labelNames: ['decision'], registers });
  const unrecordedGauge = new Gauge({ name: 'buddies_canary_unrecorded_decisions', help: 'Decisions not yet written to ClickHouse (retried each check).', registers });

  let streak = { key: '', failed: 0 };
  const pending: DecisionRow[] = [];

  async function flushPending(): Promise<void> {
    while (pending.length > 0) {
      try {
        await o.recorder.decision(pending[0]!);
        pending.shift();
      } catch (err) {
        log(`canary: decision ${pending[0]!.decisionId} not recorded yet (${message(err)}); retrying at the next check`);
        break;
      }
    }
    unrecordedGauge.set(pending.length);
  }

  function report(r: CheckReport): CheckReport {
    checks.inc({ outcome: r.outcome });
    failedGauge.set(r.failedInARow);
    return r;
  }

  async function check(): Promise<CheckReport> {
    await flushPending();
    let latest;
    try {
      latest = await o.deps.announcements.latest();
    } catch (err) {
      return report({ outcome: 'error', reason: `cannot read the model announcements: ${message(err)}`, failedInARow: streak.failed });
    }
    const canary = canaryOf(latest.get(canaryModelName(kind)));
    const productionVersion = latest.get(name)?.modelVersion;
    if (!canary) {
      streak = { key: '', failed: 0 };
      share.set(0);
      return report({ outcome: 'idle', reason: `no ${name} canary`, failedInARow: 0, ...(productionVersion ? { productionVersion } : {}) });
    }
    share.set(canary.share);
    const key = `${canary.version}@${canary.startedAt}`;
    if (streak.key !== key) streak = { key, failed: 0 };
    const at = now();
    let arms: BprArm[] | undefined;
    let result: CanaryCheck;
    try {
      arms = await o.counts.bprArms(canary.startedAt);
      const arm = (v: string | undefined) => arms!.find((a) => a.bprVersion === (v ?? 'none')) ?? NO_COUNTS;
      result = decideCanary(arm(productionVersion), arm(canary.version), at - canary.startedAt, rule);
    } catch (err) {
      result = { outcome: 'fail', reason: `cannot read the online counts: ${message(err)}`, comparisons: [] };
    }
    const prodArm = arms?.find((a) => a.bprVersion === (productionVersion ?? 'none'));
    const canArm = arms?.find((a) => a.bprVersion === canary.version);
    for (const [arm, counts] of [['canary', canArm], ['production', prodArm]] as const) {
      impressions.set({ arm }, counts?.impressions ?? 0);
      rates.set({ arm, metric: 'ctr' }, counts && counts.impressions > 0 ? counts.clicks / counts.impressions : 0);
      rates.set({ arm, metric: 'follow_rate' }, counts && counts.impressions > 0 ? counts.follows / counts.impressions : 0);
    }
    for (const c of result.comparisons) {
      pValues.set({ metric: c.metric, test: 'worse' }, c.worse.p);
      pValues.set({ metric: c.metric, test: 'non_inferior' }, c.nonInferior.p);
    }
    const base = { canaryVersion: canary.version, ...(productionVersion ? { productionVersion } : {}), check: result };
    let decision: 'promote' | 'rollback' | undefined;
    let reason = result.reason;
    if (result.outcome === 'fail') {
      streak.failed++;
      log(`canary: ${name} ${canary.version}: failed check ${streak.failed} of ${rule.maxFailedChecks}: ${result.reason}`);
      if (streak.failed >= rule.maxFailedChecks) {
        decision = 'rollback';
        reason = `${streak.failed} failed checks in a row (the last: ${result.reason})`;
      }
    } else {
      streak.failed = 0;
      if (result.outcome === 'promote' || result.outcome === 'rollback') decision = result.outcome;
    }
    if (!decision) return report({ outcome: result.outcome, reason, failedInARow: streak.failed, ...base });
    try {
      if (decision === 'promote') await promote(o.deps, kind, canary.version);
      else await rollback(o.deps, kind);
    } catch (err) {
      log(`canary: ${name} ${canary.version}: ${decision} failed (${message(err)}); trying again at the next check`);
      return report({ outcome: result.outcome, reason: `${decision} failed: ${message(err)}`, failedInARow: streak.failed, ...base });
    }
    decisions.inc({ decision });
    lastDecision.set({ decision }, Math.floor(at / 1000));
    log(`canary: ${name} ${canary.version} ${decision === 'promote' ? 'promoted' : 'rolled back'}: ${reason}`);
    const cmp = (m: string) => result.comparisons.find((c) => c.metric === m)?.worse ?? { z: 0, p: 1 };
    pending.push({
      decisionId: `${name}:${canary.version}:${canary.startedAt}`,
      modelName: name,
      canaryVersion: canArm?.listVersion ?? `bpr:${canary.version}`,
      productionVersion: prodArm?.listVersion ?? `bpr:${productionVersion ?? 'none'}`,
      startedAt: canary.startedAt,
      decidedAt: at,
      decision,
      reason,
      canary: canArm ?? NO_COUNTS,
      production: prodArm ?? NO_COUNTS,
      ctr: cmp('ctr'),
      follow: cmp('follow_rate'),
      failedChecks: streak.failed,
      share: canary.share,
      numbers: { rule, canaryBpr: canary.version, productionBpr: productionVersion ?? null, outcome: result.outcome, comparisons: result.comparisons, perUser: { canary: canArm?.perUser ?? null, production: prodArm?.perUser ?? null } },
    });
    streak = { key: '', failed: 0 };
    await flushPending();
    return report({ outcome: result.outcome, reason, failedInARow: 0, decision, ...base });
  }

  const repeating = repeatEvery(check, rule.intervalMs, (err: unknown) => log(`canary: check failed: ${message(err)}`));

  return {
    check,
    start: () => repeating.start(),
    stop: () => repeating.stop(),
    failedInARow: () => streak.failed,
    unrecorded: () => pending.length,
  };
}
