/**
 * One-sided two-proportion z-tests, the significance tests of the canary rule (lifecycle/decision.ts). Pure
 * functions of counts; no dependency.
 */

/** Successes out of trials, e.g. clicks out of impressions. */
export interface Proportion {
  readonly successes: number;
  readonly trials: number;
  /**
   * The variance of the rate's estimate when trials are not independent (clustered: many impressions per user,
   * see {@link clusteredRateVariance}); without it the trials are taken as independent (binomial).
   */
  readonly variance?: number;
}

/**
 * Sums over the independent units (users) of their trials x and successes y: n, Σx, Σy, Σx², Σy², Σxy. What the
 * variance of a ratio of sums needs when the units, not the trials, are what is randomised.
 */
export interface ClusterSums {
  readonly units: number;
  readonly trials: number;
  readonly successes: number;
  readonly trials2: number;
  readonly successes2: number;
  readonly trialsSuccesses: number;
}

/** A test's statistic and one-sided p-value. */
export interface ZTest {
  readonly z: number;
  readonly p: number;
}

/**
 * The standard normal distribution function Φ(x), by the complementary error function of W. J. Cody's rational
 * approximation as given in Numerical Recipes (`erfc` by Chebyshev fit, fractional error below 1.2e-7).
 */
export function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

const rateOf = (p: Proportion): number => (p.trials > 0 ? p.successes / p.trials : 0);

/**
 * Variance of the rate Σy/Σx over units randomised as a whole (a canary assigns users, and each user sees many
 * impressions): the delta method for a ratio of means (Deng, Knoblich and Lu, "Applying the Delta Method in
 * Metric Analytics", 2018): Var ≈ (s_y² − 2r·s_xy + r²·s_x²) / (n·x̄²), with sample (co)variances over units.
 * Impressions of one user are correlated (their taste and persona), so the binomial variance p(1 − p)/Σx
 * understates it, and a per-impression test then finds differences that are only who landed in which arm. Never
 * below the binomial variance (a conservative floor, and the answer with fewer than two units).
 */
export function clusteredRateVariance(s: ClusterSums): number {
  const n = s.units;
  const x = s.trials;
  if (!(x > 0)) return 0;
  const r = s.successes / x;
  const binomial = (r * (1 - r)) / x;
  if (!(n >= 2)) return binomial;
  const mx = x / n;
  const my = s.successes / n;
  const vx = (s.trials2 - n * mx * mx) / (n - 1);
  const vy = (s.successes2 - n * my * my) / (n - 1);
  const cxy = (s.trialsSuccesses - n * mx * my) / (n - 1);
  const delta = (vy - 2 * r * cxy + r * r * vx) / (n * mx * mx);
  return Number.isFinite(delta) ? Math.max(binomial, delta) : binomial;
}

function check(p: Proportion, name: string): void {
  if (!(Number.isFinite(p.trials) && p.trials >= 0 && Number.isFinite(p.successes) && p.successes >= 0)) {
    throw new RangeError(`${name}: counts must be finite and non-negative, got ${p.successes}/${p.trials}`);
  }
  if (p.variance !== undefined && !(Number.isFinite(p.variance) && p.variance >= 0)) throw new RangeError(`${name}: variance must be finite and non-negative, got ${p.variance}`);
}

/** Both sides carry a clustered variance: the tests use it (unpooled) instead of the binomial one. */
const clustered = (a: Proportion, b: Proportion): boolean => a.variance !== undefined && b.variance !== undefined;

/**
 * Is the candidate's rate lower than the baseline's? One-sided two-proportion z-test with the pooled standard error:
 * H0 p_c ≥ p_b against H1 p_c < p_b; z = (p_c − p_b) / √(p̂(1 − p̂)(1/n_c + 1/n_b)), p = Φ(z). A small p says
 * the candidate is worse. With no trials on a side, or no variance (both rates 0 or both 1), p is 1 (no evidence).
 * When both sides carry a clustered `variance`, the standard error is √(Var_c + Var_b) instead.
 */
export function worseTest(candidate: Proportion, baseline: Proportion): ZTest {
  check(candidate, 'candidate');
  check(baseline, 'baseline');
  const nc = candidate.trials;
  const nb = baseline.trials;
  if (nc === 0 || nb === 0) return { z: 0, p: 1 };
  const pooled = (candidate.successes + baseline.successes) / (nc + nb);
  const se = clustered(candidate, baseline) ? Math.sqrt(candidate.variance! + baseline.variance!) : Math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nb));
  if (!(se > 0)) return { z: 0, p: 1 };
  const z = (rateOf(candidate) - rateOf(baseline)) / se;
  return { z, p: normalCdf(z) };
}

/**
 * Is the candidate's rate not worse than the baseline's by more than `margin` (absolute, ≥ 0)? One-sided
 * non-inferiority z-test (Wald, unpooled standard error): H0 p_c − p_b ≤ −margin against H1 p_c − p_b > −margin;
 * z = (p_c − p_b + margin) / √(p_c(1 − p_c)/n_c + p_b(1 − p_b)/n_b), p = 1 − Φ(z). A small p says non-inferior.
 * With no variance on either side the difference is exact: p is 0 when it is above −margin (or equal with both
 * rates equal), else 1. No trials on a side: p is 1. When both sides carry a clustered `variance`, the standard
 * error is √(Var_c + Var_b) instead.
 */
export function nonInferiorityTest(candidate: Proportion, baseline: Proportion, margin: number): ZTest {
  check(candidate, 'candidate');
  check(baseline, 'baseline');
  if (!(margin >= 0 && Number.isFinite(margin))) throw new RangeError(`margin must be a finite number ≥ 0, got ${margin}`);
  const nc = candidate.trials;
  const nb = baseline.trials;
  if (nc === 0 || nb === 0) return { z: 0, p: 1 };
  const pc = rateOf(candidate);
  const pb = rateOf(baseline);
  const diff = pc - pb + margin;
  const se = clustered(candidate, baseline) ? Math.sqrt(candidate.variance! + baseline.variance!) : Math.sqrt((pc * (1 - pc)) / nc + (pb * (1 - pb)) / nb);
  if (!(se > 0)) return diff > 0 || (diff === 0 && margin === 0) ? { z: Infinity, p: 0 } : { z: -Infinity, p: 1 };
  const z = diff / se;
  return { z, p: 1 - normalCdf(z) };
}
