import { randomUUID } from 'node:crypto';
import { hash32 } from '../data/random.js';
import { createRng, type Rng } from '../models/random.js';
import { curateTracks } from './curate.js';
import { PERSONAS, assignPersona, type Persona, type PersonaMix } from './personas.js';
import { react, type HiddenTaste } from './reaction.js';
import { impressionGapMs, nextSessionStart, planSession } from './session.js';
import { tasteAt, type TasteShift } from './shift.js';
import type { WorldModel } from '../data/world.js';
import type { FeedbackEvent, ListenEvent, PlaylistEvent, RecommendationList } from '../streams/index.js';

/** One event the simulation wants written, with the topic it belongs to. */
export type SimEvent =
  | { readonly topic: 'listens'; readonly key: string; readonly value: ListenEvent }
  | { readonly topic: 'feedback'; readonly key: string; readonly value: FeedbackEvent }
  | { readonly topic: 'playlists'; readonly key: string; readonly value: PlaylistEvent };

export interface SimUser {
  readonly id: string;
  readonly taste: HiddenTaste;
  readonly persona: Persona;
  readonly rng: Rng;
  nextAt: number;
  impressionsLeft: number;
  editsLeft: number;
  /** Latest list and how far the user has looked through it. */
  list: RecommendationList | undefined;
  seen: number;
}

/** Online metrics, per model version of the lists the users reacted to. */
export interface OnlineMetrics {
  impressions: number;
  clicks: number;
  follows: number;
  dismissals: number;
  played: number;
  skipped: number;
}

export interface SimulationOptions {
  readonly model: WorldModel;
  /** How many simulated users (taken from the world's users, deterministic by seed). */
  readonly users: number;
  readonly seed: number;
  /** Simulated start time (epoch ms). */
  readonly startMs: number;
  /** Tracks of a playlist by id (the playlist table), or undefined when unknown. */
  readonly playlistTracks: (playlistId: string) => readonly string[] | undefined;
  readonly shifts?: readonly TasteShift[];
  readonly personaMix?: PersonaMix;
}

export interface Simulation {
  readonly users: readonly SimUser[];
  readonly metrics: ReadonlyMap<string, OnlineMetrics>;
  /** A new recommendation list for a user (from the recommendations topic). */
  offer(list: RecommendationList): void;
  /** Every action due by `nowMs` (simulated), at most `budget` events; returns the events in time order. */
  step(nowMs: number, budget: number): SimEvent[];
  /** Playlists the curators made during the run (id → tracks). */
  readonly created: ReadonlyMap<string, readonly string[]>;
}

const FULL_TRACK_MS = 210_000;

/**
 * The simulated users: each lives in sessions (persona timing); in a session they look at their latest
 * recommendations one by one and react through the reaction model (open, play through or skip, follow or
 * dismiss); with nothing to look at they play tracks of their own taste; curators also make playlists.
 * Newcomers get fresh ids, so the system meets them cold.
 */
export function createSimulation(opts: SimulationOptions): Simulation {
  const { model } = opts;
  const total = model.config.users;
  const users: SimUser[] = [];
  const byId = new Map<string, SimUser>();
  const pickRng = createRng(hash32(opts.seed, 0x51a1));
  const picked = new Set<number>();
  while (users.length < Math.min(opts.users, total)) {
    const index = pickRng.int(total);
    if (picked.has(index)) continue;
    picked.add(index);
    const u = model.user(index);
    const personaName = assignPersona(u, opts.seed, opts.personaMix);
    const rng = createRng(hash32(opts.seed, 0x5e55, index));
    const user: SimUser = {
      id: personaName === 'newcomer' ? `new-${u.id}-${opts.seed}` : u.id,
      taste: { communities: u.communities, weights: u.weights },
      persona: PERSONAS[personaName], rng,
      nextAt: opts.startMs + Math.round(rng.exponential(60_000)), impressionsLeft: 0, editsLeft: 0, list: undefined, seen: 0,
    };
    users.push(user);
    byId.set(user.id, user);
  }
  const metrics = new Map<string, OnlineMetrics>();
  const created = new Map<string, string[]>();
  const metricsOf = (version: string) => {
    let m = metrics.get(version);
    if (!m) metrics.set(version, (m = { impressions: 0, clicks: 0, follows: 0, dismissals: 0, played: 0, skipped: 0 }));
    return m;
  };
  const communityOf = (uri: string) => {
    const i = model.trackIndexOfUri(uri);
    return i === undefined ? -1 : model.track(i).community;
  };
  const uri = (index: number) => model.track(index).uri;

  function act(u: SimUser, t: number, out: SimEvent[]): number {
    const taste = tasteAt(u.taste, opts.shifts ?? [], t);
    const fb = (kind: FeedbackEvent['kind'], at: number, extra: Partial<FeedbackEvent> = {}) => out.push({ topic: 'feedback', key: u.id, value: {
      eventId: randomUUID(), userId: u.id, kind, trackId: null, playlistId: null, recommendationId: null, position: null, eventTime: Math.round(at), ...extra,
    } });
    const listen = (trackId: string, at: number, ms: number, extra: Partial<ListenEvent> = {}) => out.push({ topic: 'listens', key: u.id, value: {
      eventId: randomUUID(), userId: u.id, trackId, playlistId: null, source: 'LIBRARY', msPlayed: ms, trackDurationMs: FULL_TRACK_MS, eventTime: Math.round(at), recommendationId: null, ...extra,
    } });

    if (u.impressionsLeft <= 0) { // a new session
      const plan = planSession(u.persona, t, u.rng);
      u.impressionsLeft = plan.impressions;
      u.editsLeft = u.rng.chance(u.persona.editsPerSession % 1) ? Math.ceil(u.persona.editsPerSession) : Math.floor(u.persona.editsPerSession);
    }
    if (u.editsLeft > 0 && u.rng.chance(0.3)) { // a curator makes a playlist
      u.editsLeft--;
      const tracks = curateTracks(model, taste, 15 + u.rng.int(30), u.rng).map(uri);
      const playlistId = `sim-${u.id}-${Math.round(t)}`;
      created.set(playlistId, tracks);
      out.push({ topic: 'playlists', key: playlistId, value: {
        eventId: randomUUID(), playlistId, kind: 'CREATE', ownerId: u.id, name: `${model.communityNames[taste.communities[0] ?? 0]} mix`, tracks, followers: 0, organic: true, eventTime: Math.round(t),
      } });
      return t + 60_000;
    }
    const item = u.list?.items[u.seen];
    u.impressionsLeft--;
    if (!item || !u.list) { // nothing recommended yet: play a few tracks of one's own taste
      let at = t;
      for (const track of curateTracks(model, taste, 3 + u.rng.int(3), u.rng, 0.1)) {
        listen(uri(track), at, FULL_TRACK_MS);
        at += FULL_TRACK_MS;
      }
      return at + impressionGapMs(u.persona, u.rng);
    }
    u.seen++;
    const list = u.list;
    const tracks = opts.playlistTracks(item.playlistId) ?? created.get(item.playlistId) ?? [];
    const m = metricsOf(list.modelVersion);
    const recommendationId = list.recommendationId;
    m.impressions++;
    fb('IMPRESSION', t, { playlistId: item.playlistId, recommendationId, position: item.rank });
    const r = react(taste, { trackCommunities: tracks.map(communityOf) }, u.persona, u.rng);
    let at = t + r.openDelayMs;
    if (r.opened) {
      m.clicks++;
      fb('CLICK', at, { playlistId: item.playlistId, recommendationId, position: item.rank });
      for (const tr of r.tracks) {
        const trackId = tracks[tr.position];
        if (trackId === undefined) continue;
        listen(trackId, at, tr.listenedMs, { playlistId: item.playlistId, source: 'ORGANIC_PLAYLIST', recommendationId });
        if (tr.outcome === 'skipped') fb('SKIP', at + tr.listenedMs, { trackId, playlistId: item.playlistId, recommendationId });
        at += tr.listenedMs;
      }
      m.played += r.played;
      m.skipped += r.skipped;
    }
    if (r.followed) {
      m.follows++;
      fb('FOLLOW_PLAYLIST', at, { playlistId: item.playlistId, recommendationId, position: item.rank });
    } else if (r.dismissed) {
      m.dismissals++;
      fb('DISMISS', at, { playlistId: item.playlistId, recommendationId, position: item.rank });
    }
    return at + impressionGapMs(u.persona, u.rng);
  }

  return {
    users,
    metrics,
    created,
    offer(list) {
      const u = byId.get(list.userId);
      if (!u) return;
      u.list = list;
      u.seen = 0;
    },
    step(nowMs, budget) {
      const out: SimEvent[] = [];
      const due = users.filter((u) => u.nextAt <= nowMs).sort((a, b) => a.nextAt - b.nextAt);
      for (const u of due) {
        if (out.length >= budget) break;
        const end = act(u, u.nextAt, out);
        u.nextAt = u.impressionsLeft > 0 ? end : nextSessionStart(u.persona, end, u.rng);
      }
      return out;
    },
  };
}
