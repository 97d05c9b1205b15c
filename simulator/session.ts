import type { Rng } from '../models/random.js';
import type { Persona } from './personas.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Relative listening activity by hour of day (UTC of the simulated clock): low at night, a morning commute bump,
 * highest in the evening. Max 1.
 */
export function diurnalWeight(hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  const morning = Math.exp(-((h - 8.5) ** 2) / 4);
  const evening = Math.exp(-((h - 20) ** 2) / 8);
  return Math.min(1, 0.08 + 0.55 * morning + 0.95 * evening);
}

/**
 * When the next session starts after `afterMs` (epoch ms): a Poisson process of `sessionsPerDay`, thinned by the
 * diurnal curve (so the daily count is lower than the nominal rate at night-heavy hours, as with real users).
 */
export function nextSessionStart(persona: Persona, afterMs: number, rng: Rng): number {
  // candidate rate is raised so that after thinning (mean weight ≈ 0.4) the day still has ~sessionsPerDay
  const meanGap = DAY / (persona.sessionsPerDay * 2.5);
  let t = afterMs;
  for (let i = 0; i < 10_000; i++) {
    t += Math.max(1000, Math.round(rng.exponential(meanGap)));
    if (rng.chance(diurnalWeight(new Date(t).getUTCHours() + new Date(t).getUTCMinutes() / 60))) return t;
  }
  return t;
}

/** One planned session: when it runs and how many recommendations the user looks at. */
export interface SessionPlan {
  readonly startMs: number;
  readonly endMs: number;
  readonly impressions: number;
}

/** A session's length (lognormal around the persona's mean minutes, 1 minute to 6 hours) and impressions. */
export function planSession(persona: Persona, startMs: number, rng: Rng): SessionPlan {
  const sigma = 0.75;
  const minutes = Math.min(360, Math.max(1, persona.meanSessionMinutes * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2)));
  const mean = minutes * persona.impressionsPerMinute;
  // Poisson by inversion (means here are small), at least one look at the recommendations
  let impressions = 0;
  let p = Math.exp(-Math.min(mean, 500));
  let cdf = p;
  const u = rng.next();
  while (u > cdf && impressions < 10_000) {
    impressions++;
    p *= mean / impressions;
    cdf += p;
  }
  return { startMs, endMs: startMs + Math.round(minutes * 60_000), impressions: Math.max(1, impressions) };
}

/** Gap in ms between two consecutive impressions of a session (exponential, at least 2 s). */
export function impressionGapMs(persona: Persona, rng: Rng): number {
  return Math.max(2000, Math.round(rng.exponential(60_000 / Math.max(persona.impressionsPerMinute, 1e-6))));
}
