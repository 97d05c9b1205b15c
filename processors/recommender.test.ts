import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { buildPlaylistPipeline, type PipelinePlaylist } from '../models/pipeline/index.js';
import {
  createLocalSerde, createTopologyTestDriver, type AvroSerde, type FeedbackEvent, type ListenEvent, type RecommendationList, type UserPairing, type UserTasteEmbedding,
} from '../streams/index.js';
import { recommenderTopology } from './apps.js';
import { createLiveRecommender, type LiveRecommender } from './recommender.js';

let serde: AvroSerde;
beforeAll(async () => { serde = await createLocalSerde(join(findRootDir(), 'schemas')); });

/** 3 genres × 30 playlists of 12 tracks from the genre's 30 tracks; playlist 7 is the most followed. */
function genreWorld(): PipelinePlaylist[] {
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 90 }, (_, i) => ({
    id: String(i), owner: `o${i}`, followers: i === 7 ? 500 : i % 4,
    tracks: Array.from({ length: 12 }, () => `g${i % 3}-t${Math.floor(rnd() * 30)}`),
  }));
}

/** The recommender topology in the test driver (real Avro serde): records in, decoded outputs out. */
function driver(live: LiveRecommender) {
  const d = createTopologyTestDriver(recommenderTopology(live, 'recommender-test'), { serde });
  return {
    listen: (e: ListenEvent) => d.pipe('listens', e.userId, e),
    feedback: (e: FeedbackEvent) => d.pipe('feedback', e.userId, e),
    lists: async (): Promise<RecommendationList[]> => (await d.outputs('recommendations')).map((o) => o.value),
    tastes: async (): Promise<UserTasteEmbedding[]> => (await d.outputs('tasteEmbeddings')).map((o) => o.value),
    pairings: async (): Promise<UserPairing[]> => (await d.outputs('pairings')).map((o) => o.value),
  };
}

const listen = (user: string, track: string, msPlayed = 200_000): ListenEvent => ({
  eventId: `${user}-${track}`, userId: user, trackId: track, playlistId: null, source: 'LIBRARY', msPlayed, trackDurationMs: 200_000, eventTime: 1, recommendationId: null,
});

describe('live recommender processor', () => {
  it('gives a newcomer popular playlists, then, after a few plays, playlists of their genre from buddies', async () => {
    const pipeline = await buildPlaylistPipeline(genreWorld(), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const live = createLiveRecommender({ pipeline, k: 5, refreshEvery: 4, now: () => 42, listsFrom: 0 });
    const d = driver(live);
    await d.listen(listen('ana', 'unknown'));
    expect(await d.tastes()).toHaveLength(0); // no embedded track yet: no taste
    let out = await d.lists();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ userId: 'ana', coldStart: true, generatedAt: 42 });
    expect(out[0]?.items[0]?.playlistId).toBe('7');

    for (const t of [1, 2, 3, 4]) await d.listen(listen('ana', `g2-t${t}`));
    out = await d.lists();
    expect(out).toHaveLength(2);
    const personal = out[1] as RecommendationList;
    expect(personal.coldStart).toBe(false);
    expect(personal.items.map((i) => i.rank)).toEqual([1, 2, 3, 4, 5]);
    for (const item of personal.items) {
      expect(Number(item.playlistId) % 3).toBe(2);
      expect(item.explanation.buddyId).toBe(`o${item.playlistId}`);
      expect(item.explanation.reason).toMatch(/^made by your buddy o\d+, \d+% taste match$/);
    }
    // the taste (decayed mean of the played tracks, unit length) and the buddies went out with the list
    const taste = (await d.tastes()).at(-1) as UserTasteEmbedding;
    expect(taste).toMatchObject({ userId: 'ana', eventCount: 4, embeddingVersion: 'ppmi-svd-8' });
    expect(Math.hypot(...taste.vector)).toBeCloseTo(1, 5);
    const buddies = ((await d.pairings()).at(-1) as UserPairing).buddies;
    expect(buddies).toHaveLength(10);
    expect(buddies.filter((b) => Number(b.userId.slice(1)) % 3 === 2).length).toBeGreaterThanOrEqual(8);
    // nothing shown before is shown again
    const shown = new Set(out[0]?.items.map((i) => i.playlistId));
    expect(personal.items.some((i) => shown.has(i.playlistId))).toBe(false);
    await pipeline.close();
  });

  it('refreshes at once on a dismissal and never recommends the dismissed playlist; skips do not count as taste', async () => {
    const pipeline = await buildPlaylistPipeline(genreWorld(), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const live = createLiveRecommender({ pipeline, k: 3, refreshEvery: 100, strategy: 'popular', listsFrom: 0 });
    const d = driver(live);
    await d.listen(listen('bo', 'g0-t1', 5_000)); // a 5 s skip
    let out = await d.lists();
    expect(out).toHaveLength(1);
    const dismissed = out[0]?.items[0]?.playlistId as string;
    const fb: FeedbackEvent = { eventId: 'f', userId: 'bo', kind: 'DISMISS', trackId: null, playlistId: dismissed, recommendationId: out[0]?.recommendationId ?? null, position: 1, eventTime: 2 };
    await d.feedback(fb);
    out = await d.lists();
    expect(out).toHaveLength(2);
    expect(out[1]?.items.map((i) => i.playlistId)).not.toContain(dismissed);
    await d.feedback({ ...fb, kind: 'IMPRESSION' });
    expect(await d.lists()).toHaveLength(2);
    expect(live.stats).toEqual({ users: 1, lists: 2 });
    await pipeline.close();
  });

  it('folds a backlog of old events into the taste without sending lists for them', async () => {
    const pipeline = await buildPlaylistPipeline(genreWorld(), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
    const live = createLiveRecommender({ pipeline, k: 3, refreshEvery: 1, listsFrom: 1000 });
    const d = driver(live);
    for (const t of [1, 2, 3, 4]) await d.listen({ ...listen('cy', `g1-t${t}`), eventTime: 999 });
    expect(await d.lists()).toHaveLength(0);
    await d.listen({ ...listen('cy', 'g1-t5'), eventTime: 1000 });
    const out = await d.lists();
    expect(out).toHaveLength(1);
    expect(out[0]?.coldStart).toBe(false); // the backlog made the taste: personalised at once
    expect((await d.tastes()).at(-1)?.eventCount).toBe(5);
    await pipeline.close();
  });
});
