import { describe, expect, it } from 'vitest';
import { nonInferiorityTest, normalCdf, worseTest } from './stats.js';

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
