import { hash32, unit } from '../data/random.js';
import type { UserTaste } from '../data/world.js';

export type PersonaName = 'newcomer' | 'casual' | 'heavy' | 'explorer' | 'curator';

export const PERSONA_NAMES: readonly PersonaName[] = ['newcomer', 'casual', 'heavy', 'explorer', 'curator'];

/**
 * How one kind of simulated user behaves. Probabilities are in [0, 1]; `match` below is how well a playlist fits
 * the user's hidden taste, from 0 (nothing they like) to 1 (all from their strongest community).
 */
export interface Persona {
  readonly name: PersonaName;
  /** Chance to open a shown playlist at match 0 and at match 1 (interpolated as match^openCurve). */
  readonly openAtZero: number;
  readonly openAtFull: number;
  readonly openCurve: number;
  /** Chance to let a track play through at affinity 0 and 1 (else it is skipped). */
  readonly listenAtZero: number;
  readonly listenAtFull: number;
  /** Mean tracks they are willing to hear from one playlist before leaving (geometric). */
  readonly meanTracksPerOpen: number;
  /** Consecutive skips after which they abandon the playlist. */
  readonly patience: number;
  /** Chance to follow at match 1 after listening through everything; scaled by match² and listen-through. */
  readonly followAtFull: number;
  /** Chance to press "not interested" on an ignored playlist at match 0 (scaled by 1 − match). */
  readonly dismissIgnored: number;
  /** Chance to dismiss an opened playlist they mostly skipped (listen-through below 30%). */
  readonly dismissOpened: number;
  /** Affinity given to tracks outside their taste (explorers like some novelty). */
  readonly noveltyAffinity: number;
  /** Sessions per day, mean session length in minutes, and recommendations looked at per minute. */
  readonly sessionsPerDay: number;
  readonly meanSessionMinutes: number;
  readonly impressionsPerMinute: number;
  /** Playlists created or edited per session (curators). */
  readonly editsPerSession: number;
}

/** The five personas. Tuned so a matching playlist gets several times the clicks, listens and follows of a random one. */
export const PERSONAS: Readonly<Record<PersonaName, Persona>> = Object.freeze({
  newcomer: {
    name: 'newcomer',
    openAtZero: 0.06,
    openAtFull: 0.45,
    openCurve: 1.5,
    listenAtZero: 0.1,
    listenAtFull: 0.8,
    meanTracksPerOpen: 5,
    patience: 2,
    followAtFull: 0.25,
    dismissIgnored: 0.15,
    dismissOpened: 0.4,
    noveltyAffinity: 0,
    sessionsPerDay: 1,
    meanSessionMinutes: 10,
    impressionsPerMinute: 1.5,
    editsPerSession: 0,
  },
  casual: {
    name: 'casual',
    openAtZero: 0.04,
    openAtFull: 0.35,
    openCurve: 1.5,
    listenAtZero: 0.15,
    listenAtFull: 0.85,
    meanTracksPerOpen: 8,
    patience: 3,
    followAtFull: 0.2,
    dismissIgnored: 0.05,
    dismissOpened: 0.2,
    noveltyAffinity: 0,
    sessionsPerDay: 1.5,
    meanSessionMinutes: 20,
    impressionsPerMinute: 0.5,
    editsPerSession: 0,
  },
  heavy: {
    name: 'heavy',
    openAtZero: 0.08,
    openAtFull: 0.6,
    openCurve: 1.3,
    listenAtZero: 0.15,
    listenAtFull: 0.9,
    meanTracksPerOpen: 20,
    patience: 4,
    followAtFull: 0.35,
    dismissIgnored: 0.08,
    dismissOpened: 0.3,
    noveltyAffinity: 0,
    sessionsPerDay: 4,
    meanSessionMinutes: 60,
    impressionsPerMinute: 0.4,
    editsPerSession: 0.05,
  },
  explorer: {
    name: 'explorer',
    openAtZero: 0.15,
    openAtFull: 0.6,
    openCurve: 1,
    listenAtZero: 0.25,
    listenAtFull: 0.85,
    meanTracksPerOpen: 10,
    patience: 5,
    followAtFull: 0.3,
    dismissIgnored: 0.03,
    dismissOpened: 0.15,
    noveltyAffinity: 0.35,
    sessionsPerDay: 2,
    meanSessionMinutes: 40,
    impressionsPerMinute: 1,
    editsPerSession: 0.1,
  },
  curator: {
    name: 'curator',
    openAtZero: 0.05,
    openAtFull: 0.55,
    openCurve: 2,
    listenAtZero: 0.1,
    listenAtFull: 0.9,
    meanTracksPerOpen: 15,
    patience: 3,
    followAtFull: 0.45,
    dismissIgnored: 0.1,
    dismissOpened: 0.4,
    noveltyAffinity: 0,
    sessionsPerDay: 2,
    meanSessionMinutes: 45,
    impressionsPerMinute: 0.6,
    editsPerSession: 1.5,
  },
});

/** Share of each persona among simulated users (newcomers are assigned first, then by activity). */
export interface PersonaMix {
  readonly newcomer: number;
  readonly curator: number;
  readonly explorer: number;
}

export const DEFAULT_PERSONA_MIX: PersonaMix = Object.freeze({ newcomer: 0.1, curator: 0.05, explorer: 0.15 });

/**
 * Deterministic persona of a world user: `mix.newcomer` of users are newcomers, then curators and explorers by
 * their shares, and the rest heavy (activity ≥ 1.5) or casual. Explorers are drawn among users of 2+ communities.
 */
export function assignPersona(user: UserTaste, seed: number, mix: PersonaMix = DEFAULT_PERSONA_MIX): PersonaName {
  const x = unit(hash32(seed, 0x5e75, user.index));
  if (x < mix.newcomer) return 'newcomer';
  if (x < mix.newcomer + mix.curator) return 'curator';
  if (x < mix.newcomer + mix.curator + mix.explorer && user.communities.length > 1) return 'explorer';
  return user.activity >= 1.5 ? 'heavy' : 'casual';
}
