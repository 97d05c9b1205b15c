import type { BuddiesConfig } from '../config/index.js';
import { clusteredRateVariance, nonInferiorityTest, worseTest, type Proportion, type ZTest } from './stats.js';

/**
 * Sums over an arm's users of the squares and products of their own counts (Σ impressions², Σ clicks², …): with
 * them the rule's tests take the user, the unit the canary randomises, as the independent unit
 * ({@link clusteredRateVariance}).
 */
export interface ArmUserSums {
  readonly users: number;
  readonly impressions2: number;
  readonly clicks2: number;
  readonly follows2: number;
  readonly impressionsClicks: number;
  readonly impressionsFollows: number;
}

/** What an arm of a canary showed since the canary started: impressions of its lists' items, and the clicks and follows on them. */
export interface ArmCounts {
  readonly impressions: number;
  readonly clicks: number;
  readonly follows: number;
  /** Per-user sums (ClickHouse gives them); without them impressions are taken as independent. */
  readonly perUser?: ArmUserSums;
}

/** The rates the canary rule compares: click-through and follow rate, both per impression. */
export type CanaryMetric = 'ctr' | 'follow_rate';
export const CANARY_METRICS: readonly CanaryMetric[] = ['ctr', 'follow_rate'];

/**
 * The canary decision rule. After at least `minImpressions` per arm, for each metric, the candidate is:
 * - **worse** when a one-sided two-proportion z-test rejects "candidate ≥ production" at `alpha`;
 * - **not worse** when a one-sided non-inferiority z-test rejects "candidate ≤ production − margin × production"
 *   at `alpha` (the margin is relative to production's rate).
 * Users, not impressions, are randomised between the arms, so with per-user sums ({@link ArmCounts.perUser})
 * both tests use the delta-method standard error over users (clustered); without them, the per-impression
 * (binomial) one.
 * Any metric worse: roll back. Every metric not worse: promote. Otherwise wait for more data. A check that cannot
 * decide past `deadlineMs` after the canary's start (too few impressions, or still inconclusive) fails, as does a
 * check whose data cannot be read; `maxFailedChecks` failures in a row roll back.
 */
export type CanaryRule = BuddiesConfig['lifecycle']['canary'];

export const DEFAULT_CANARY_RULE: CanaryRule = {
  minImpressions: 2000,
  alpha: 0.05,
  margin: 0.1,
  maxFailedChecks: 3,
  deadlineMs: 6 * 3_600_000,
  intervalMs: 60_000,
};

/** Validates a rule at once (RangeError naming the field). */
export function checkCanaryRule(r: CanaryRule): CanaryRule {
  const bad = (name: string, v: number, want: string) => new RangeError(`canary rule: ${name} must be ${want}, got ${v}`);
  if (!Number.isInteger(r.minImpressions) || r.minImpressions < 1) throw bad('minImpressions', r.minImpressions, 'a positive integer');
  if (!(r.alpha > 0 && r.alpha < 0.5)) throw bad('alpha', r.alpha, 'in (0, 0.5)');
  if (!(r.margin >= 0 && r.margin < 1)) throw bad('margin', r.margin, 'in [0, 1)');
  if (!Number.isInteger(r.maxFailedChecks) || r.maxFailedChecks < 1) throw bad('maxFailedChecks', r.maxFailedChecks, 'a positive integer');
  if (!(r.deadlineMs > 0)) throw bad('deadlineMs', r.deadlineMs, 'positive');
  if (!(r.intervalMs > 0)) throw bad('intervalMs', r.intervalMs, 'positive');
  return r;
}

/** One metric's comparison in a check. */
export interface MetricComparison {
  readonly metric: CanaryMetric;
  readonly production: number;
  readonly canary: number;
  /** The absolute margin used (rule margin × production's rate). */
  readonly margin: number;
  readonly worse: ZTest;
  readonly nonInferior: ZTest;
  readonly verdict: 'worse' | 'not-worse' | 'inconclusive';
}

/** The outcome of one check: `wait` for more data, or a failed check (`fail`), or a decision. */
export type CheckOutcome = 'promote' | 'rollback' | 'wait' | 'fail';

export interface CanaryCheck {
  readonly outcome: CheckOutcome;
  /** One line, with the numbers. */
  readonly reason: string;
  readonly comparisons: readonly MetricComparison[];
}

function successes(a: ArmCounts, m: CanaryMetric): Proportion {
  const p: Proportion = { successes: m === 'ctr' ? a.clicks : a.follows, trials: a.impressions };
  const u = a.perUser;
  if (!u) return p;
  const variance = clusteredRateVariance({
    units: u.users, trials: a.impressions, successes: p.successes, trials2: u.impressions2,
    successes2: m === 'ctr' ? u.clicks2 : u.follows2, trialsSuccesses: m === 'ctr' ? u.impressionsClicks : u.impressionsFollows,
  });
  return { ...p, variance };
}
const f3 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)) : x);

/** Compares one metric of the two arms under the rule. */
export function compareMetric(metric: CanaryMetric, production: ArmCounts, canary: ArmCounts, rule: CanaryRule): MetricComparison {
  const pb = successes(production, metric);
  const pc = successes(canary, metric);
  const rate = (p: Proportion) => (p.trials > 0 ? p.successes / p.trials : 0);
  const margin = rule.margin * rate(pb);
  const worse = worseTest(pc, pb);
  const nonInferior = nonInferiorityTest(pc, pb, margin);
  const verdict = worse.p < rule.alpha ? 'worse' : nonInferior.p < rule.alpha ? 'not-worse' : 'inconclusive';
  return { metric, production: rate(pb), canary: rate(pc), margin, worse, nonInferior, verdict };
}

const describe = (c: MetricComparison) =>
  `${c.metric} ${f3(c.canary)} vs ${f3(c.production)} (worse z=${f3(c.worse.z)} p=${f3(c.worse.p)}; non-inferior z=${f3(c.nonInferior.z)} p=${f3(c.nonInferior.p)})`;

/**
 * One check of the rule on the counts since the canary started, `elapsedMs` after its start. Pure: the
 * controller counts failed checks in a row and acts on the outcome.
 */
export function decideCanary(production: ArmCounts, canary: ArmCounts, elapsedMs: number, rule: CanaryRule): CanaryCheck {
  const users = (a: ArmCounts) => (a.perUser ? ` of ${a.perUser.users} users` : '');
  const n = `impressions canary ${canary.impressions}${users(canary)}, production ${production.impressions}${users(production)}${canary.perUser && production.perUser ? '; tests per user' : ''}`;
  if (canary.impressions < rule.minImpressions || production.impressions < rule.minImpressions) {
    if (elapsedMs > rule.deadlineMs) return { outcome: 'fail', reason: `not enough data ${Math.round(elapsedMs / 1000)} s after the start (${n}; ${rule.minImpressions} needed per arm)`, comparisons: [] };
    return { outcome: 'wait', reason: `waiting for ${rule.minImpressions} impressions per arm (${n})`, comparisons: [] };
  }
  const comparisons = CANARY_METRICS.map((m) => compareMetric(m, production, canary, rule));
  const worse = comparisons.filter((c) => c.verdict === 'worse');
  if (worse.length > 0) return { outcome: 'rollback', reason: `canary significantly worse at alpha ${rule.alpha}: ${worse.map(describe).join('; ')} (${n})`, comparisons };
  if (comparisons.every((c) => c.verdict === 'not-worse')) {
    return { outcome: 'promote', reason: `canary not worse than production beyond a ${rule.margin * 100}% margin at alpha ${rule.alpha}: ${comparisons.map(describe).join('; ')} (${n})`, comparisons };
  }
  const open = comparisons.filter((c) => c.verdict === 'inconclusive').map(describe).join('; ');
  if (elapsedMs > rule.deadlineMs) return { outcome: 'fail', reason: `still inconclusive ${Math.round(elapsedMs / 1000)} s after the start: ${open} (${n})`, comparisons };
  return { outcome: 'wait', reason: `inconclusive: ${open} (${n})`, comparisons };
}
