import { attributeRow, attributionOf, ROW_MAPPERS, type SinkTopic, type TableRow } from '../../processors/index.js';
import type { FeedbackEvent, ListenEvent, PlaylistEvent, RecommendationList } from '../../streams/index.js';

/**
 * A small, deterministic world for the analysts' queries (docs/analytics.md): curators with playlists (one shrinks,
 * one is deleted, one is new), users who get a cold-start list and then personalised ones from two model versions,
 * see, click, play, follow and dismiss, listen on their own (library, algorithmic), and come back the next day;
 * one canary decision. Every query has rows to return.
 */
export interface AnalyticsFixture {
  readonly listens: ListenEvent[];
  readonly feedback: FeedbackEvent[];
  readonly playlists: PlaylistEvent[];
  readonly recommendations: RecommendationList[];
  /** Rows of `model_decisions` (no topic carries them yet: the trainer will write them). */
  readonly decisions: Array<Record<string, string | number>>;
}

const HOUR = 3_600_000;
const MIN = 60_000;
/** 2026-11-20 10:00 UTC. */
export const FIXTURE_START_MS = Date.UTC(2026, 10, 20, 10);
const VERSIONS = ['buddies@emb:v1+bpr:none', 'buddies@emb:v1+bpr:v2'] as const;

export function analyticsFixture(): AnalyticsFixture {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  let n = 0;
  const id = (p: string) => `${p}-${++n}`;
  const t0 = FIXTURE_START_MS;
  const playlists: PlaylistEvent[] = [];
  const tracksOf = new Map<string, string[]>();
  const curators = ['c0', 'c1', 'c2'];
  for (const [ci, c] of curators.entries()) {
    for (let k = 0; k < 2; k++) {
      const playlistId = `pl-${c}-${k}`;
      const tracks = Array.from({ length: 6 }, (_, i) => `track-${ci}-${k}-${i}`);
      tracksOf.set(playlistId, tracks);
      playlists.push({ eventId: id('pc'), playlistId, kind: 'CREATE', ownerId: c, name: `${c} mix ${k}`, tracks, followers: 0, organic: true, eventTime: t0 - 48 * HOUR + ci * HOUR });
    }
  }
  // c0's first playlist shrinks, c2's second is deleted, c1 makes a new one during the day
  playlists.push({ ...playlists[0]!, eventId: id('pu'), kind: 'UPDATE', tracks: tracksOf.get('pl-c0-0')!.slice(0, 3), eventTime: t0 - 24 * HOUR });
  playlists.push({ ...playlists[5]!, eventId: id('pd'), kind: 'DELETE', ownerId: 'c2', name: '', tracks: [], eventTime: t0 - 12 * HOUR });
  const fresh: PlaylistEvent = { eventId: id('pc'), playlistId: 'pl-c1-new', kind: 'CREATE', ownerId: 'c1', name: 'c1 fresh', tracks: ['track-new-0', 'track-new-1', 'track-new-2'], followers: 0, organic: true, eventTime: t0 + 30 * MIN };
  playlists.push(fresh);
  tracksOf.set(fresh.playlistId, fresh.tracks);

  const live = ['pl-c0-0', 'pl-c0-1', 'pl-c1-0', 'pl-c1-1', 'pl-c2-0'];
  const recommendations: RecommendationList[] = [];
  const feedback: FeedbackEvent[] = [];
  const listens: ListenEvent[] = [];
  const fb = (userId: string, kind: FeedbackEvent['kind'], at: number, playlistId: string | null, recommendationId: string | null, position: number | null) =>
    feedback.push({ eventId: id('f'), userId, kind, trackId: null, playlistId, recommendationId, position, eventTime: at });
  const listen = (userId: string, trackId: string, at: number, ms: number, source: ListenEvent['source'], playlistId: string | null, recommendationId: string | null) =>
    listens.push({ eventId: id('l'), userId, trackId, playlistId, source, msPlayed: ms, trackDurationMs: 200_000, eventTime: at, recommendationId });

  for (let u = 0; u < 12; u++) {
    const user = `u${u}`;
    const version = VERSIONS[u % 2]!;
    let at = t0 + u * 5 * MIN;
    // on their own first: library and algorithmic plays
    for (let i = 0; i < 4; i++, at += 3 * MIN) listen(user, `own-${u}-${i}`, at, i % 2 ? 180_000 : 20_000, i < 2 ? 'LIBRARY' : 'ALGORITHMIC', null, null);
    // a cold-start list (popular), then personalised ones (made by / followed by / new from a buddy)
    const lists: RecommendationList[] = [];
    const cold: RecommendationList = { recommendationId: id('r'), userId: user, modelVersion: version, coldStart: true, generatedAt: at, items: live.slice(0, 3).map((p, i) => ({
      playlistId: p, rank: i + 1, score: 1 - i / 10, explanation: { buddyId: null, tasteMatch: 0.5, reason: 'popular right now' },
    })) };
    lists.push(cold);
    if (u < 9) { // three users stay cold
      at += (u + 1) * 2 * MIN;
      const buddy = curators[u % 3]!;
      const items = [
        { playlistId: `pl-${buddy}-0`, reason: `made by your buddy ${buddy}, 82% taste match`, buddyId: buddy },
        { playlistId: live[(u + 1) % live.length]!, reason: `followed by your buddy u${(u + 1) % 12}, 64% taste match`, buddyId: `u${(u + 1) % 12}` },
        { playlistId: 'pl-c1-new', reason: 'new from your buddy c1, 71% taste match', buddyId: 'c1' },
      ];
      lists.push({ recommendationId: id('r'), userId: user, modelVersion: version, coldStart: false, generatedAt: at, items: items.map((it, i) => ({
        playlistId: it.playlistId, rank: i + 1, score: 0.9 - i / 10, explanation: { buddyId: it.buddyId, tasteMatch: 0.7, reason: it.reason },
      })) });
    }
    for (const list of lists) {
      recommendations.push(list);
      for (const item of list.items) {
        at += MIN;
        fb(user, 'IMPRESSION', at, item.playlistId, list.recommendationId, item.rank);
        const r = rnd();
        if (r < 0.6) {
          fb(user, 'CLICK', at + 5_000, item.playlistId, list.recommendationId, item.rank);
          for (const [i, track] of tracksOf.get(item.playlistId)!.slice(0, 3).entries()) {
            const ms = rnd() < 0.7 ? 190_000 : 12_000;
            listen(user, track, at + 10_000 + i * 200_000, ms, 'ORGANIC_PLAYLIST', item.playlistId, list.recommendationId);
            if (ms < 30_000) feedback.push({ eventId: id('f'), userId: user, kind: 'SKIP', trackId: track, playlistId: item.playlistId, recommendationId: list.recommendationId, position: null, eventTime: at + 10_000 + i * 200_000 + ms });
          }
          at += 10 * MIN;
          if (r < 0.3) fb(user, 'FOLLOW_PLAYLIST', at, item.playlistId, list.recommendationId, item.rank);
        } else if (r > 0.9) {
          fb(user, 'DISMISS', at + 2_000, item.playlistId, list.recommendationId, item.rank);
        }
      }
    }
    // some come back the next day and play on their own; one follows a playlist outside any list
    if (u % 3 !== 2) listen(user, `own-${u}-back`, t0 + 26 * HOUR + u * MIN, 150_000, 'LIBRARY', null, null);
    if (u === 4) fb(user, 'FOLLOW_PLAYLIST', t0 + 27 * HOUR, 'pl-c1-1', null, null);
  }
  const decisions = [{
    decision_id: 'd1', model_name: 'bpr', canary_version: VERSIONS[1], production_version: VERSIONS[0],
    started_at: Math.floor(t0 / 1000), decided_at: Math.floor((t0 + 6 * HOUR) / 1000), decision: 'promote', reason: 'CTR up, follow rate not down',
  }];
  return { listens, feedback, playlists, recommendations, decisions };
}

/** The fixture as warehouse rows per table, as the sink writes them (reactions attributed to their lists; plus `model_decisions`). */
export function fixtureRows(f: AnalyticsFixture): Map<string, Array<Record<string, unknown>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  const lists = attributionOf(f.recommendations);
  const add = <T extends SinkTopic>(topic: T, values: ReadonlyArray<Parameters<(typeof ROW_MAPPERS)[T]>[0]>) => {
    for (const v of values) {
      for (const { table, row } of (ROW_MAPPERS[topic] as (x: typeof v) => TableRow[])(v)) {
        const list = out.get(table) ?? [];
        list.push(attributeRow(row, lists));
        out.set(table, list);
      }
    }
  };
  add('playlists', f.playlists);
  add('recommendations', f.recommendations);
  add('listens', f.listens);
  add('feedback', f.feedback);
  out.set('model_decisions', f.decisions);
  return out;
}
