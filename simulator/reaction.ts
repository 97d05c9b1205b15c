import type { Rng } from '../models/random.js';
import type { Persona } from './personas.js';

/** A user's hidden taste: communities and weights (weights need not sum to 1; only their ratios matter). */
export interface HiddenTaste {
  readonly communities: readonly number[];
  readonly weights: readonly number[];
}

/** A recommended playlist as the simulated user experiences it: its tracks' communities, in play order. */
export interface ShownPlaylist {
  readonly trackCommunities: readonly number[];
  /** Per-track durations in ms (same order); default 210,000 each. */
  readonly trackDurationsMs?: readonly number[];
}

export type TrackOutcome = 'played' | 'skipped';

/** What happened to one track of an opened playlist, with the time spent on it. */
export interface TrackReaction {
  readonly position: number;
  readonly outcome: TrackOutcome;
  /** Time listened before the track ended or was skipped. */
  readonly listenedMs: number;
}

/** The whole reaction to one impression. Counts are consistent: played + skipped = tracks.length. */
export interface Reaction {
  /** How well the playlist fits the hidden taste, 0..1 (see {@link tasteMatch}). */
  readonly match: number;
  readonly opened: boolean;
  readonly played: number;
  readonly skipped: number;
  /** played / (played + skipped); 0 when not opened. */
  readonly listenThrough: number;
  readonly followed: boolean;
  readonly dismissed: boolean;
  readonly tracks: readonly TrackReaction[];
  /** Milliseconds from the impression to the click (0 when ignored). */
  readonly openDelayMs: number;
}

const DEFAULT_TRACK_MS = 210_000;

/** Affinity of one track community for a taste: its weight relative to the strongest, or `novelty` if absent. */
export function affinity(taste: HiddenTaste, community: number, novelty = 0): number {
  let max = 0;
  let w = -1;
  for (let i = 0; i < taste.communities.length; i++) {
    const wi = taste.weights[i] ?? 0;
    if (wi > max) max = wi;
    if (taste.communities[i] === community) w = wi;
  }
  if (w < 0 || max <= 0) return novelty;
  return Math.max(novelty, w / max);
}

/**
 * How well a playlist fits a taste: mean affinity of its first `visible` tracks (what a user sees before
 * clicking). 1 = every track from their strongest community, 0 = none from their taste. Pure.
 */
export function tasteMatch(taste: HiddenTaste, trackCommunities: readonly number[], visible = 20, novelty = 0): number {
  const n = Math.min(visible, trackCommunities.length);
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += affinity(taste, trackCommunities[i] as number, novelty);
  return sum / n;
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * Math.min(1, Math.max(0, t));

/**
 * Decides how a simulated user reacts to one recommended playlist: open or ignore (maybe dismiss), then track by
 * track play through or skip until their attention or patience runs out, then follow or dismiss. Pure given `rng`:
 * the same taste, playlist, persona and rng state give the same reaction.
 */
export function react(taste: HiddenTaste, playlist: ShownPlaylist, persona: Persona, rng: Rng): Reaction {
  const match = tasteMatch(taste, playlist.trackCommunities, 20, persona.noveltyAffinity);
  const pOpen = lerp(persona.openAtZero, persona.openAtFull, Math.pow(match, persona.openCurve));
  if (!rng.chance(pOpen) || playlist.trackCommunities.length === 0) {
    const dismissed = rng.chance(persona.dismissIgnored * (1 - match));
    return { match, opened: false, played: 0, skipped: 0, listenThrough: 0, followed: false, dismissed, tracks: [], openDelayMs: 0 };
  }
  const openDelayMs = Math.round(1000 + rng.exponential(4000));
  // attention: how many tracks they would hear at most (geometric around the persona mean)
  const budget = 1 + Math.floor(rng.exponential(Math.max(0, persona.meanTracksPerOpen - 1)));
  const tracks: TrackReaction[] = [];
  let played = 0;
  let skipped = 0;
  let streak = 0;
  for (let pos = 0; pos < playlist.trackCommunities.length && tracks.length < budget && streak < persona.patience; pos++) {
    const a = affinity(taste, playlist.trackCommunities[pos] as number, persona.noveltyAffinity);
    const duration = playlist.trackDurationsMs?.[pos] ?? DEFAULT_TRACK_MS;
    if (rng.chance(lerp(persona.listenAtZero, persona.listenAtFull, a))) {
      played++;
      streak = 0;
      tracks.push({ position: pos, outcome: 'played', listenedMs: duration });
    } else {
      skipped++;
      streak++;
      // skips come early: a few seconds to half a minute in
      tracks.push({ position: pos, outcome: 'skipped', listenedMs: Math.min(duration, Math.round(2000 + rng.exponential(12_000))) });
    }
  }
  const listenThrough = played / (played + skipped);
  const followed = rng.chance(persona.followAtFull * match * match * listenThrough);
  const dismissed = !followed && listenThrough < 0.3 && rng.chance(persona.dismissOpened);
  return { match, opened: true, played, skipped, listenThrough, followed, dismissed, tracks, openDelayMs };
}
