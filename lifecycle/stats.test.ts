import { describe, expect, it } from 'vitest';
import { clusteredRateVariance, nonInferiorityTest, normalCdf, worseTest, type ClusterSums } from './stats.js';

describe('normal distribution function (issue 10)', () => {
  it('matches tabulated quantiles', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1)).toBeCloseTo(0.8413447, 6);
    expect(normalCdf(1.6448536)).toBeCloseTo(0.95, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-2.5758293)).toBeCloseTo(0.005, 6);
    expect(normalCdf(3)).toBeCloseTo(0.9986501, 6);
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalCdf(Infinity)).toBe(1);
  });
});

describe('two-proportion z-tests (issue 10)', () => {
  it('worse: 90/1000 against 120/1000 gives z = -2.1883, p = 0.01433 (pooled standard error)', () => {
    const t = worseTest({ successes: 90, trials: 1000 }, { successes: 120, trials: 1000 });
    expect(t.z).toBeCloseTo(-2.18827, 4);
    expect(t.p).toBeCloseTo(0.014325, 5);
    // the other way round it is no evidence of being worse
    expect(worseTest({ successes: 120, trials: 1000 }, { successes: 90, trials: 1000 }).p).toBeCloseTo(1 - 0.014325, 5);
  });

  it('non-inferiority: 95/1000 against 100/1000 with a 0.02 margin gives z = 1.1307, p = 0.1291 (unpooled)', () => {
    const t = nonInferiorityTest({ successes: 95, trials: 1000 }, { successes: 100, trials: 1000 }, 0.02);
    expect(t.z).toBeCloseTo(1.13075, 4);
    expect(t.p).toBeCloseTo(0.129081, 5);
    // ten times the data: the same rates are shown non-inferior
    expect(nonInferiorityTest({ successes: 950, trials: 10_000 }, { successes: 1000, trials: 10_000 }, 0.02).p).toBeLessThan(0.001);
  });

  it('has no evidence without trials or variance, and refuses bad counts', () => {
    expect(worseTest({ successes: 0, trials: 0 }, { successes: 5, trials: 10 })).toEqual({ z: 0, p: 1 });
    expect(worseTest({ successes: 0, trials: 100 }, { successes: 0, trials: 100 })).toEqual({ z: 0, p: 1 });
    expect(nonInferiorityTest({ successes: 0, trials: 100 }, { successes: 0, trials: 100 }, 0).p).toBe(0);
    expect(nonInferiorityTest({ successes: 0, trials: 100 }, { successes: 100, trials: 100 }, 0.1).p).toBe(1);
    expect(() => worseTest({ successes: -1, trials: 10 }, { successes: 1, trials: 10 })).toThrow(RangeError);
    expect(() => nonInferiorityTest({ successes: 1, trials: 10 }, { successes: 1, trials: 10 }, -0.1)).toThrow(/margin/);
  });
});

/** The sums of per-unit (trials, successes) pairs. */
const sums = (units: readonly (readonly [number, number])[]): ClusterSums => ({
  units: units.length,
  trials: units.reduce((a, [x]) => a + x, 0),
  successes: units.reduce((a, [, y]) => a + y, 0),
  trials2: units.reduce((a, [x]) => a + x * x, 0),
  successes2: units.reduce((a, [, y]) => a + y * y, 0),
  trialsSuccesses: units.reduce((a, [x, y]) => a + x * y, 0),
});

describe('clustered variance of a rate (issue 10: users, not impressions, are randomised)', () => {
  it('is the binomial variance, up to n/(n − 1), with one trial per unit', () => {
    // 300 units of one trial, 60 successes: r = 0.2; delta = r(1 − r)/(n − 1) = 0.16/299
    const s = sums([...Array.from({ length: 60 }, () => [1, 1] as const), ...Array.from({ length: 240 }, () => [1, 0] as const)]);
    expect(clusteredRateVariance(s)).toBeCloseTo(0.16 / 299, 12);
  });

  it('is far above the binomial variance when units differ: 10 users who click everything, 40 who click nothing', () => {
    // 50 users of 20 impressions: r = 0.2, binomial 0.16/1000; per user the rate is 1 or 0: 0.16·50/49 / 50 = 0.16/49
    const s = sums([...Array.from({ length: 10 }, () => [20, 20] as const), ...Array.from({ length: 40 }, () => [20, 0] as const)]);
    expect(clusteredRateVariance(s)).toBeCloseTo(0.16 / 49, 12);
    // a click-through difference of 0.05 on 1000 impressions each: significant per impression, not per user
    const c = { successes: 150, trials: 1000 };
    const b = { successes: 200, trials: 1000 };
    expect(worseTest(c, b).p).toBeLessThan(0.01);
    const v = clusteredRateVariance(s);
    const t = worseTest({ ...c, variance: v }, { ...b, variance: v });
    expect(t.z).toBeCloseTo(-0.05 / Math.sqrt(2 * v), 10);
    expect(t.p).toBeGreaterThan(0.2);
  });

  it('never goes below the binomial variance, which it also gives with fewer than two units or no trials', () => {
    // every user the same rate exactly: the delta variance is 0, the floor is binomial
    expect(clusteredRateVariance(sums(Array.from({ length: 10 }, () => [10, 2] as const)))).toBeCloseTo((0.2 * 0.8) / 100, 12);
    expect(clusteredRateVariance(sums([[10, 3]]))).toBeCloseTo((0.3 * 0.7) / 10, 12);
    expect(clusteredRateVariance(sums([]))).toBe(0);
  });

  it('is used by both tests only when both sides carry it', () => {
    const c = { successes: 90, trials: 1000 };
    const b = { successes: 120, trials: 1000 };
    expect(worseTest({ ...c, variance: 1e-3 }, b)).toEqual(worseTest(c, b));
    expect(nonInferiorityTest({ ...c, variance: 1e-3 }, { ...b, variance: 1e-3 }, 0.02).z).toBeCloseTo((0.09 - 0.12 + 0.02) / Math.sqrt(2e-3), 10);
    expect(() => worseTest({ ...c, variance: -1 }, b)).toThrow(/variance/);
  });
});
