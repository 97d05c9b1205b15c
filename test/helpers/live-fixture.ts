import { randomUUID } from 'node:crypto';
import type { FeedbackEvent, ListenEvent, PlaylistEvent, RecommendationList } from '../../streams/index.js';

/**
 * Live traffic for the live metrics and the dashboard (gateway/live-metrics.ts): curators' playlists, then minute
 * by minute over the last `minutes` before `endMs`, users who get their first list (two model versions that differ
 * in click-through and follow rate), see its items, click, play and follow, and listen on their own. Deterministic
 * for a seed, apart from the event ids (fresh UUIDs, so two waves never collide).
 */
export interface LiveTraffic {
  readonly playlists: PlaylistEvent[];
  readonly recommendations: RecommendationList[];
  readonly feedback: FeedbackEvent[];
  readonly listens: ListenEvent[];
}

export const LIVE_VERSIONS = ['buddies@emb:live1+bpr:none', 'buddies@emb:live1+bpr:v2'] as const;
const MIN = 60_000;

export function livePlaylists(atMs: number): PlaylistEvent[] {
  const out: PlaylistEvent[] = [];
  for (let c = 0; c < 4; c++) {
    for (let k = 0; k < 3; k++) {
      out.push({
        eventId: randomUUID(), playlistId: `live-pl-${c}-${k}`, kind: 'CREATE', ownerId: `curator-${c}`, name: `curator ${c} mix ${k}`,
        tracks: Array.from({ length: 4 }, (_, i) => `live-track-${c}-${k}-${i}`), followers: 0, organic: true, eventTime: atMs,
      });
    }
  }
  return out;
}

/**
 * `minutes` minutes of traffic ending at `endMs` (the last minute's events fall in [endMs - 60 s, endMs)); users are
 * named `${userPrefix}-N`, each new (first list) in the minute they appear. `intensity` scales the volume.
 */
export function liveTraffic(o: { endMs: number; minutes: number; seed: number; userPrefix: string; intensity?: number }): LiveTraffic {
  let seed = o.seed;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const playlists = livePlaylists(o.endMs - 2 * 86_400_000);
  const ids = playlists.map((p) => p.playlistId);
  const recommendations: RecommendationList[] = [];
  const feedback: FeedbackEvent[] = [];
  const listens: ListenEvent[] = [];
  let user = 0;
  for (let m = o.minutes; m >= 1; m--) {
    const start = o.endMs - m * MIN;
    // a wave over the hour, so the charts have a shape
    const users = Math.max(1, Math.round((3 + 2 * Math.sin(m / 6)) * (o.intensity ?? 1)));
    for (let u = 0; u < users; u++) {
      const userId = `${o.userPrefix}-${user++}`;
      const v = user % 2;
      const at = start + Math.floor(rnd() * 50_000);
      // popular playlists come up more often: the top of the table is stable
      const picks = [0, 1, 2].map((i) => ids[Math.min(ids.length - 1, Math.floor(rnd() * rnd() * ids.length) + i)]!);
      const list: RecommendationList = {
        recommendationId: randomUUID(), userId, modelVersion: LIVE_VERSIONS[v]!, coldStart: u % 3 === 0, generatedAt: at,
        items: [...new Set(picks)].map((playlistId, i) => ({ playlistId, rank: i + 1, score: 1 - i / 10, explanation: { buddyId: 'curator-0', tasteMatch: 0.7, reason: 'made by your buddy curator-0, 70% taste match' } })),
      };
      recommendations.push(list);
      for (const it of list.items) {
        const fb = (kind: FeedbackEvent['kind'], dt: number) =>
          feedback.push({ eventId: randomUUID(), userId, kind, trackId: null, playlistId: it.playlistId, recommendationId: list.recommendationId, position: it.rank, eventTime: at + dt });
        fb('IMPRESSION', 500);
        if (rnd() < (v === 0 ? 0.3 : 0.5)) {
          fb('CLICK', 1_000);
          listens.push({ eventId: randomUUID(), userId, trackId: `live-track-x`, playlistId: it.playlistId, source: 'ORGANIC_PLAYLIST', msPlayed: 60_000 + Math.floor(rnd() * 120_000), trackDurationMs: 200_000, eventTime: at + 2_000, recommendationId: list.recommendationId });
          if (rnd() < (v === 0 ? 0.2 : 0.4)) fb('FOLLOW_PLAYLIST', 3_000);
        } else if (rnd() < 0.2) {
          fb('DISMISS', 1_000);
        }
      }
      // listening of their own: organic playlists found elsewhere, the library, the service's radio
      const own: Array<ListenEvent['source']> = ['ORGANIC_PLAYLIST', 'LIBRARY', 'RADIO', 'ALGORITHMIC'];
      for (let i = 0; i < 3; i++) {
        const source = own[Math.floor(rnd() * own.length)]!;
        listens.push({
          eventId: randomUUID(), userId, trackId: `own-${i}`, playlistId: source === 'ORGANIC_PLAYLIST' ? ids[i]! : null, source,
          msPlayed: 30_000 + Math.floor(rnd() * 150_000), trackDurationMs: 200_000, eventTime: start + Math.floor(rnd() * 59_000), recommendationId: null,
        });
      }
    }
  }
  return { playlists, recommendations, feedback, listens };
}

/** What the live metrics should say about some traffic, per bucket start (unix seconds), computed directly from the events. */
export function expectedLive(t: LiveTraffic, bucketSeconds: number): {
  listens: Map<number, number>; feedback: Map<number, number>; organicMs: Map<number, number>; otherMs: Map<number, number>; recommendedMs: Map<number, number>;
  impressions: Map<string, number>; clicks: Map<string, number>; follows: Map<string, number>; lists: Map<string, number>; newUsers: Map<string, number>;
  playlistLists: Map<string, number>;
} {
  const bucket = (ms: number) => Math.floor(Math.floor(ms / 1000) / bucketSeconds) * bucketSeconds;
  const add = <K>(m: Map<K, number>, k: K, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  const out = {
    listens: new Map<number, number>(), feedback: new Map<number, number>(), organicMs: new Map<number, number>(), otherMs: new Map<number, number>(), recommendedMs: new Map<number, number>(),
    impressions: new Map<string, number>(), clicks: new Map<string, number>(), follows: new Map<string, number>(), lists: new Map<string, number>(), newUsers: new Map<string, number>(),
    playlistLists: new Map<string, number>(),
  };
  const version = new Map(t.recommendations.map((r) => [r.recommendationId, r.modelVersion]));
  for (const l of t.listens) {
    const b = bucket(l.eventTime);
    add(out.listens, b);
    if (l.source !== 'ORGANIC_PLAYLIST') add(out.otherMs, b, l.msPlayed);
    else if (l.recommendationId) add(out.recommendedMs, b, l.msPlayed);
    else add(out.organicMs, b, l.msPlayed);
  }
  for (const f of t.feedback) {
    const b = bucket(f.eventTime);
    add(out.feedback, b);
    const v = f.recommendationId ? version.get(f.recommendationId) : undefined;
    if (!v) continue;
    if (f.kind === 'IMPRESSION') add(out.impressions, `${b}/${v}`);
    if (f.kind === 'CLICK') add(out.clicks, `${b}/${v}`);
    if (f.kind === 'FOLLOW_PLAYLIST') add(out.follows, `${b}/${v}`);
  }
  const first = new Map<string, RecommendationList>();
  for (const r of t.recommendations) {
    add(out.lists, `${bucket(r.generatedAt)}/${r.modelVersion}`);
    for (const it of r.items) add(out.playlistLists, it.playlistId);
    const f = first.get(r.userId);
    if (!f || r.generatedAt < f.generatedAt) first.set(r.userId, r);
  }
  for (const r of first.values()) add(out.newUsers, `${bucket(r.generatedAt)}/${r.modelVersion}`);
  return out;
}
