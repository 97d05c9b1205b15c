import { describe, expect, it } from 'vitest';
import { checkCanaryRule, decideCanary, DEFAULT_CANARY_RULE, type CanaryRule } from './decision.js';

const rule: CanaryRule = { ...DEFAULT_CANARY_RULE, minImpressions: 1000, alpha: 0.05, margin: 0.1, deadlineMs: 60_000 };
const arm = (impressions: number, clicks: number, follows: number) => ({ impressions, clicks, follows });

describe('the canary decision rule (issue 10)', () => {
  it('waits for the minimum impressions per arm, and fails the check past the deadline without them', () => {
    expect(decideCanary(arm(5000, 500, 100), arm(999, 100, 20), 1000, rule)).toMatchObject({ outcome: 'wait', comparisons: [] });
    const late = decideCanary(arm(5000, 500, 100), arm(999, 100, 20), 61_000, rule);
    expect(late.outcome).toBe('fail');
    expect(late.reason).toMatch(/^not enough data 61 s after the start \(impressions canary 999, production 5000; 1000 needed per arm\)$/);
  });

  it('rolls back when either rate is significantly worse', () => {
    // click-through 0.05 against 0.10 on 2000 impressions each: z = -6.003 (pooled)
    const c = decideCanary(arm(2000, 200, 40), arm(2000, 100, 40), 1000, rule);
    expect(c.outcome).toBe('rollback');
    const ctr = c.comparisons.find((x) => x.metric === 'ctr')!;
    expect(ctr.verdict).toBe('worse');
    expect(ctr.worse.z).toBeCloseTo(-6.003, 2);
    expect(c.comparisons.find((x) => x.metric === 'follow_rate')!.verdict).not.toBe('worse');
    expect(c.reason).toMatch(/^canary significantly worse at alpha 0.05: ctr 0.05 vs 0.1 \(worse z=-6 p=/);
    // follow rate alone
    expect(decideCanary(arm(5000, 500, 250), arm(5000, 500, 150), 1000, rule).outcome).toBe('rollback');
  });

  it('promotes when both rates are shown not worse beyond the margin', () => {
    const c = decideCanary(arm(20_000, 2000, 400), arm(20_000, 2020, 410), 1000, rule);
    expect(c.outcome).toBe('promote');
    for (const x of c.comparisons) {
      expect(x.verdict).toBe('not-worse');
      expect(x.nonInferior.p).toBeLessThan(0.05);
    }
    expect(c.comparisons.find((x) => x.metric === 'ctr')!.margin).toBeCloseTo(0.01, 10); // 10% of production's 0.1
  });

  it('waits while inconclusive, and fails the check once that lasts past the deadline', () => {
    // slightly lower, on few impressions: neither worse nor shown non-inferior
    const early = decideCanary(arm(1000, 100, 20), arm(1000, 95, 19), 1000, rule);
    expect(early.outcome).toBe('wait');
    expect(early.reason).toMatch(/^inconclusive: /);
    expect(decideCanary(arm(1000, 100, 20), arm(1000, 95, 19), 120_000, rule).outcome).toBe('fail');
  });

  it('a stricter alpha needs more evidence to roll back', () => {
    const a = arm(2000, 200, 40);
    const b = arm(2000, 170, 40); // z ≈ -1.63, p ≈ 0.052
    expect(decideCanary(a, b, 1000, { ...rule, alpha: 0.1 }).outcome).toBe('rollback');
    expect(decideCanary(a, b, 1000, { ...rule, alpha: 0.01 }).outcome).not.toBe('rollback');
  });

  it('validates the rule at once', () => {
    expect(() => checkCanaryRule({ ...rule, alpha: 0.7 })).toThrow('canary rule: alpha must be in (0, 0.5), got 0.7');
    expect(() => checkCanaryRule({ ...rule, minImpressions: 0 })).toThrow(/minImpressions/);
    expect(() => checkCanaryRule({ ...rule, margin: 1 })).toThrow(/margin/);
    expect(() => checkCanaryRule({ ...rule, maxFailedChecks: 1.5 })).toThrow(/maxFailedChecks/);
    expect(checkCanaryRule(DEFAULT_CANARY_RULE)).toBe(DEFAULT_CANARY_RULE);
  });
});

describe('lifecycle settings (issue 10)', () => {
  it('the configuration defaults are the lifecycle defaults, and bad values are refused with the variable named', async () => {
    const { loadConfig } = await import('../config/index.js');
    const { DEFAULT_MONITOR_OPTIONS } = await import('./monitor.js');
    const cfg = loadConfig({}).lifecycle;
    expect(cfg.canary).toEqual(DEFAULT_CANARY_RULE);
    expect(cfg.monitor).toEqual(DEFAULT_MONITOR_OPTIONS);
    expect(cfg.canaryShare).toBe(0.1);
    expect(loadConfig({ BUDDIES_CANARY_ALPHA: '0.01', BUDDIES_MONITOR_RECENT_MS: '5000' }).lifecycle).toMatchObject({ canary: { alpha: 0.01 }, monitor: { recentMs: 5000 } });
    expect(() => loadConfig({ BUDDIES_CANARY_SHARE: '1.5' })).toThrow('BUDDIES_CANARY_SHARE=1.5 is not a share in (0, 1)');
    expect(() => loadConfig({ BUDDIES_CANARY_MAX_FAILED_CHECKS: '0' })).toThrow(/BUDDIES_CANARY_MAX_FAILED_CHECKS/);
  });

  it('with per-user sums, tests per user: a gap that is only which users landed in which arm is no rollback', () => {
    // per impression, 0.15 against 0.20 on 2000 impressions each is significantly worse (z ≈ -4.2);
    // here each arm is 40 users of 50 impressions whose click-through is 0 or 1 (users differ, impressions of a user do not)
    const users = (clickers: number) => ({
      users: 40, impressions2: 40 * 2500, clicks2: clickers * 2500, follows2: 0, impressionsClicks: clickers * 2500, impressionsFollows: 0,
    });
    const perImpression = decideCanary(arm(2000, 400, 0), arm(2000, 300, 0), 1000, rule);
    expect(perImpression.outcome).toBe('rollback');
    const c = decideCanary({ ...arm(2000, 400, 0), perUser: users(8) }, { ...arm(2000, 300, 0), perUser: users(6) }, 1000, rule);
    expect(c.comparisons.find((x) => x.metric === 'ctr')!.verdict).toBe('inconclusive');
    expect(c.outcome).toBe('wait');
    expect(c.reason).toMatch(/\(impressions canary 2000 of 40 users, production 2000 of 40 users; tests per user\)$/);
  });
});
