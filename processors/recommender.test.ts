import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { createModelRegistry, publishSavedModel } from '../registry/index.js';
import { saveFactors } from '../models/bpr/index.js';
import type { ItemEmbeddings } from '../models/embeddings/index.js';
import { createIdMap } from '../models/interactions.js';
import { buildPlaylistPipeline, type PipelinePlaylist } from '../models/pipeline/index.js';
import { createRanker } from '../models/ranking/index.js';
import {
  createLocalSerde, createTopologyTestDriver, type AvroSerde, type FeedbackEvent, type ListenEvent, type PlaylistEvent, type RecommendationList, type UserPairing, type UserTasteEmbedding,
} from '../streams/index.js';
import { recommenderTopology } from './apps.js';
import { canaryBucket, createLiveWorld, type LiveWorld } from './live-world.js';
import { createLiveRecommender, USERS_STORE, type RecommenderOptions } from './recommender.js';

let serde: AvroSerde;
let embeddings: ItemEmbeddings;
const tmp = mkdtempSync(join(tmpdir(), 'buddies-rec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 3 genres × 30 playlists of 12 tracks from the genre's 30 tracks; playlist 7 is the most followed. */
function genreWorld(): PipelinePlaylist[] {
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 90 }, (_, i) => ({
    id: String(i), owner: `o${i}`, followers: i === 7 ? 500 : i % 4,
    tracks: Array.from({ length: 12 }, () => `g${i % 3}-t${Math.floor(rnd() * 30)}`),
  }));
}

const playlistEvent = (p: PipelinePlaylist, eventTime = 0): PlaylistEvent => ({
  eventId: `pe-${p.id}-${eventTime}`, playlistId: p.id, kind: 'CREATE', ownerId: p.owner, name: `playlist ${p.id}`, tracks: [...p.tracks], followers: p.followers, organic: true, eventTime,
});

beforeAll(async () => {
  serde = await createLocalSerde(join(findRootDir(), 'schemas'));
  const pipeline = await buildPlaylistPipeline(genreWorld(), { embeddings: { dims: 8, minCount: 1 }, buddies: 10, threads: 1 });
  embeddings = pipeline.embeddings;
  await pipeline.close();
});

/** The recommender topology in the test driver (real Avro serde), its world fed through the global tables. */
async function setup(o: Partial<Omit<RecommenderOptions, 'world'>> = {}) {
  const world: LiveWorld = createLiveWorld({ minSignal: 3 });
  world.useEmbeddings({ embeddings, version: 'emb1' });
  const live = createLiveRecommender({ world, ranker: createRanker(), k: 5, refreshEvery: 4, buddies: 10, now: () => 42, listsFrom: 0, freshForMs: 0, ...o });
  const d = createTopologyTestDriver(recommenderTopology(live, world, 'recommender-test'), { serde, partitions: 2 });
  const [playlists, tastes, models] = world.globals;
  for (const p of genreWorld()) await d.pipeGlobal(playlists, p.id, playlistEvent(p));
  const t = {
    d, live, world,
    listen: (e: ListenEvent) => d.pipe('listens', e.userId, e),
    feedback: (e: FeedbackEvent) => d.pipe('feedback', e.userId, e),
    lists: async (user?: string): Promise<RecommendationList[]> => (await d.outputs('recommendations')).map((o) => o.value).filter((l) => !user || l.userId === user),
    tastes: async (): Promise<UserTasteEmbedding[]> => (await d.outputs('tasteEmbeddings')).map((o) => o.value),
    pairings: async (user?: string): Promise<UserPairing[]> => (await d.outputs('pairings')).map((o) => o.value).filter((p) => !user || p.userId === user),
    /** What the global table of the taste topic would read: the committed taste records, fed back. */
    async feedTastes() {
      for (const taste of await t.tastes()) await d.pipeGlobal(tastes, taste.userId, taste);
    },
    playlists, models, tastesSpec: tastes,
  };
  return t;
}

let n = 0;
const listen = (user: string, track: string, msPlayed = 200_000, eventTime = 1): ListenEvent => ({
  eventId: `l${n++}`, userId: user, trackId: track, playlistId: null, source: 'LIBRARY', msPlayed, trackDurationMs: 200_000, eventTime, recommendationId: null,
});
const feedback = (user: string, kind: FeedbackEvent['kind'], playlistId: string | null, eventTime = 2): FeedbackEvent => ({
  eventId: `f${n++}`, userId: user, kind, trackId: null, playlistId, recommendationId: null, position: null, eventTime,
});

describe('live recommender on durable state', () => {
  it('gives a newcomer popular playlists, then, after a few plays, playlists of their genre from buddies', async () => {
    const t = await setup();
    await t.listen(listen('ana', 'unknown'));
    expect(await t.tastes()).toHaveLength(0); // no embedded track yet: no taste
    let out = await t.lists();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ userId: 'ana', coldStart: true, generatedAt: 42, modelVersion: 'buddies@emb:emb1+bpr:none' });
    expect(out[0]?.items[0]?.playlistId).toBe('7');

    for (const tr of [1, 2, 3, 4]) await t.listen(listen('ana', `g2-t${tr}`));
    out = await t.lists();
    expect(out).toHaveLength(2);
    const personal = out[1] as RecommendationList;
    expect(personal.coldStart).toBe(false);
    for (const item of personal.items) {
      expect(Number(item.playlistId) % 3).toBe(2);
      expect(item.explanation.buddyId).toBe(`o${item.playlistId}`);
      expect(item.explanation.reason).toMatch(/^made by your buddy o\d+, \d+% taste match$/);
    }
    const taste = (await t.tastes()).at(-1) as UserTasteEmbedding;
    expect(taste).toMatchObject({ userId: 'ana', eventCount: 4, embeddingVersion: 'emb1', follows: [] });
    expect(Math.hypot(...taste.vector)).toBeCloseTo(1, 5);
    const buddies = ((await t.pairings('ana')).at(-1) as UserPairing).buddies;
    expect(buddies.filter((b) => Number(b.userId.slice(1)) % 3 === 2).length).toBeGreaterThanOrEqual(Math.ceil(buddies.length * 0.8));
    // nothing shown before is shown again
    const shown = new Set(out[0]?.items.map((i) => i.playlistId));
    expect(personal.items.some((i) => shown.has(i.playlistId))).toBe(false);
    // the state is in the store: events counted, shown playlists excluded
    const state = t.d.store(USERS_STORE, 0).get('ana') ?? t.d.store(USERS_STORE, 1).get('ana');
    expect(state?.events).toBe(5);
    expect(Object.keys(state?.excluded ?? {})).toEqual(expect.arrayContaining([...shown]));
  });

  it('pairs listeners live: a listener who owns nothing becomes a buddy, and what they follow is recommended', async () => {
    const t = await setup();
    for (const tr of [1, 2, 3, 4, 5, 6, 7, 8]) await t.listen(listen('lis', `g1-t${tr}`));
    await t.feedback(feedback('lis', 'FOLLOW_PLAYLIST', '4')); // a genre-1 playlist
    await t.feedTastes();
    expect(t.world.index()?.has('lis')).toBe(true);
    expect(t.world.catalog.followedBy('lis')).toEqual(['4']);
    for (const tr of [1, 2, 3, 4, 5, 6, 7, 8]) await t.listen(listen('bo', `g1-t${tr}`)); // the same taste as lis
    const pairing = (await t.pairings('bo')).at(-1) as UserPairing;
    expect(pairing.buddies.map((b) => b.userId)).toContain('lis');
    const list = (await t.lists('bo')).at(-1) as RecommendationList;
    const viaLis = list.items.find((i) => i.explanation.buddyId === 'lis');
    // bo's list may take '4' through its owner or through lis; either way it comes from a buddy of the genre
    expect(list.items.every((i) => Number(i.playlistId) % 3 === 1)).toBe(true);
    if (viaLis) expect(viaLis.explanation.reason).toMatch(/^followed by your buddy lis/);
  });

  it('keeps state through a restart: counts, exclusions, and no event counted twice', async () => {
    const t = await setup({ showExclusionMs: 1000 });
    const events = [1, 2, 3, 4].map((tr) => listen('cy', `g0-t${tr}`, 200_000, 10));
    for (const e of events) await t.listen(e);
    const shown = new Set((await t.lists('cy')).flatMap((l) => l.items.map((i) => i.playlistId)));
    await t.d.restart();
    for (const e of events) await t.listen(e); // replayed: counted once
    expect(t.live.stats.duplicates).toBe(4);
    for (const tr of [5, 6, 7, 8]) await t.listen(listen('cy', `g0-t${tr}`, 200_000, 20));
    const state = [0, 1].map((p) => t.d.store(USERS_STORE, p).get('cy')).find(Boolean);
    expect(state?.events).toBe(8);
    const after = (await t.lists('cy')).at(-1) as RecommendationList;
    expect(after.items.some((i) => shown.has(i.playlistId))).toBe(false);
    // once the exclusion period (event time) has passed, a shown playlist may come back
    for (const tr of [9, 10, 11, 12]) await t.listen(listen('cy', `g0-t${tr}`, 200_000, 5000));
    const ex = [0, 1].map((p) => t.d.store(USERS_STORE, p).get('cy')).find(Boolean);
    expect(Object.values(ex?.excluded ?? {}).every((until) => until > 5000)).toBe(true);
  });

  it('recommends a playlist created while it runs, in the freshness slot, and never one deleted', async () => {
    const t = await setup({ freshForMs: 5 }); // the world's playlists are from time 0, the new one from 8; lists at 10
    for (const tr of [1, 2, 3, 4]) await t.listen(listen('dee', `g2-t${tr}`, 200_000, 10));
    // a curator with dee's taste, who made a playlist of it with tracks dee has not heard yet
    const fresh: PipelinePlaylist = { id: 'new', owner: 'o-new', followers: 0, tracks: [1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29].map((i) => `g2-t${i}`) };
    await t.d.pipeGlobal(t.playlists, 'new', playlistEvent(fresh, 8));
    expect(t.world.index()?.has('o-new')).toBe(true); // its curator is a buddy from their first playlist
    expect(t.world.catalog.createdAt('new')).toBe(8);
    for (const tr of [5, 6, 7, 8]) await t.listen(listen('dee', `g2-t${tr}`, 200_000, 10));
    expect(((await t.pairings('dee')).at(-1) as UserPairing).buddies.map((b) => b.userId)).toContain('o-new');
    const list = (await t.lists('dee')).at(-1) as RecommendationList;
    expect(list.items).toHaveLength(5);
    const item = list.items.find((i) => i.playlistId === 'new');
    expect(item?.explanation.buddyId).toBe('o-new');
    // the ranking alone leaves it out (consensus favours the established playlists): the slot, the last place, has it
    expect(item?.rank).toBe(5);
    expect(item?.explanation.reason).toMatch(/^new from your buddy o-new, \d+% taste match$/);
    // once shown it is excluded like any other; deleted: never again
    const second = list.items.find((i) => i.playlistId !== 'new')?.playlistId as string;
    await t.d.pipeGlobal(t.playlists, second, { ...playlistEvent(genreWorld()[Number(second)]!, 9), kind: 'DELETE' });
    await t.feedback(feedback('dee', 'DISMISS', 'new', 10)); // refresh at once
    const after = (await t.lists('dee')).at(-1) as RecommendationList;
    expect(after.items.map((i) => i.playlistId)).not.toContain(second);
    expect(after.items.map((i) => i.playlistId)).not.toContain('new');
    expect(t.world.catalog.get(second)).toBeUndefined();
  });

  it('scores with a BPR model once it is announced, and names its version in the lists', async () => {
    const registry = createModelRegistry(join(tmp, 'registry'));
    const run = async (bprDir?: string) => {
      const t = await setup({ ranker: createRanker({ weights: { bpr: 5 } }) }); // BPR weighs enough to reorder this tiny world
      if (bprDir) {
        const v = await publishSavedModel(registry, 'BPR', bprDir);
        await t.d.pipeGlobal(t.models, 'bpr', { modelName: 'bpr', modelVersion: v.version, kind: 'BPR', artifactUri: registry.artifactUri('BPR', v.version), backend: 'test', metrics: {}, trainedAt: 1 });
        await t.world.settled();
        expect(t.world.bpr()?.version).toBe(v.version);
      }
      for (const tr of [1, 2, 3, 4, 5]) await t.listen(listen('eve', `g1-t${tr}`)); // a cold-start list, then a personal one
      return { list: (await t.lists('eve')).at(-1) as RecommendationList, buddies: ((await t.pairings('eve')).at(-1) as UserPairing).buddies };
    };
    const plain = await run();
    expect(plain.list.modelVersion).toBe('buddies@emb:emb1+bpr:none');
    // BPR prefers the buddies' playlists that the plain ranking left out, and dislikes every other one
    const shown = new Set(plain.list.items.map((i) => i.playlistId));
    const loved = plain.buddies.map((b) => b.userId.slice(1)).filter((id) => !shown.has(id));
    expect(loved.length).toBeGreaterThan(0);
    const items = createIdMap(genreWorld().map((p) => p.id));
    const stride = 3;
    const itemFactors = new Float32Array(items.ids.length * stride);
    for (const id of items.ids) itemFactors[Number(items.indexOf(id)) * stride + 2] = loved.includes(id) ? 10 : -10; // the item bias
    const dir = join(tmp, 'bpr');
    await saveFactors({ factors: 2, itemBias: true, stride, users: createIdMap(['eve']), items, userFactors: Float32Array.from([0, 0, 1]), itemFactors }, dir, { factors: 2, itemBias: true } as never, 'test');
    const scored = await run(dir);
    const [published] = await registry.list('BPR');
    expect(scored.list.modelVersion).toBe(`buddies@emb:emb1+bpr:${published?.version}`);
    const count = (l: RecommendationList) => l.items.filter((i) => loved.includes(i.playlistId)).length;
    expect(count(plain.list)).toBe(0);
    expect(count(scored.list)).toBeGreaterThan(0);
  });

  // Issue 10: a canary BPR serves the users in its share (a stable hash of the id); its end puts them back on production.
  it('serves the canary BPR to its share of users, production to the others, and names the one that served each list', async () => {
    const registry = createModelRegistry(join(tmp, 'registry-canary'));
    const items = createIdMap(genreWorld().map((p) => p.id));
    const publish = async (name: string, bias: number) => {
      const dir = join(tmp, name);
      const itemFactors = new Float32Array(items.ids.length * 3).map((_, i) => (i % 3 === 2 ? bias * ((i % 7) - 3) : 0));
      await saveFactors({ factors: 2, itemBias: true, stride: 3, users: createIdMap(['x']), items, userFactors: Float32Array.from([0, 0, 1]), itemFactors }, dir, { factors: 2, itemBias: true } as never, 'test');
      return publishSavedModel(registry, 'BPR', dir);
    };
    const prod = await publish('bpr-prod', 1);
    const cand = await publish('bpr-cand', -1);
    const announcement = (name: string, version: string, metrics: Record<string, number> = {}) => ({
      modelName: name, modelVersion: version, kind: 'BPR' as const, artifactUri: registry.artifactUri('BPR', version), backend: 'test', metrics, trainedAt: 1,
    });
    const t = await setup();
    await t.d.pipeGlobal(t.models, 'bpr', announcement('bpr', prod.version));
    await t.d.pipeGlobal(t.models, 'bpr@canary', announcement('bpr@canary', cand.version, { 'canary.share': 0.4, 'canary.startedAt': 1 }));
    await t.world.settled();
    expect(t.world.canary()).toMatchObject({ share: 0.4, bpr: { version: cand.version } });
    const users = Array.from({ length: 40 }, (_, i) => `c${i}`);
    const listOf = async (u: string) => (await t.lists(u)).at(-1)!.modelVersion;
    for (const u of users) await t.listen(listen(u, 'g0-t1'));
    const inCanary = users.filter((u) => canaryBucket(u) < 0.4);
    expect(inCanary.length).toBeGreaterThan(5);
    expect(inCanary.length).toBeLessThan(35);
    for (const u of users) expect(await listOf(u)).toBe(`buddies@emb:emb1+bpr:${inCanary.includes(u) ? cand.version : prod.version}`);
    expect(t.live.canaryLists()).toBe(inCanary.length);
    // the canary ends (a tombstone): everyone's next list is production's
    await t.d.pipeGlobal(t.models, 'bpr@canary', null);
    expect(t.world.canary()).toBeUndefined();
    for (const u of inCanary) await t.feedback(feedback(u, 'DISMISS', '0', 3));
    for (const u of inCanary) expect(await listOf(u)).toBe(`buddies@emb:emb1+bpr:${prod.version}`);
    // a promotion: the canary's version announced as production and the canary ended, swapped at once (no load)
    await t.d.pipeGlobal(t.models, 'bpr@canary', announcement('bpr@canary', cand.version, { 'canary.share': 0.4, 'canary.startedAt': 1 }));
    await t.world.settled();
    const canaryScorer = t.world.canary()!.bpr;
    await t.d.pipeGlobal(t.models, 'bpr', announcement('bpr', cand.version));
    await t.d.pipeGlobal(t.models, 'bpr@canary', null);
    expect(t.world.bpr()).toBe(canaryScorer);
    for (const u of users.slice(0, 5)) await t.feedback(feedback(u, 'DISMISS', '1', 4));
    for (const u of users.slice(0, 5)) expect(await listOf(u)).toBe(`buddies@emb:emb1+bpr:${cand.version}`);
  });

  it('puts users in canary buckets by a stable, even hash of their id', () => {
    expect(canaryBucket('ana')).toBe(canaryBucket('ana'));
    const n = 20_000;
    let below = 0;
    for (let i = 0; i < n; i++) if (canaryBucket(`user-${i}`) < 0.3) below++;
    expect(Math.abs(below / n - 0.3)).toBeLessThan(0.015); // 4.6 standard deviations
  });

  it('forgets a user: store entry gone, tombstones out, and others re-paired without them', async () => {
    const t = await setup();
    for (const tr of [1, 2, 3, 4, 5, 6, 7, 8]) await t.listen(listen('fay', `g0-t${tr}`));
    await t.feedTastes();
    for (const tr of [1, 2, 3, 4, 5, 6, 7, 8]) await t.listen(listen('gil', `g0-t${tr}`)); // the same taste as fay
    expect(((await t.pairings('gil')).at(-1) as UserPairing).buddies.map((b) => b.userId)).toContain('fay');
    await t.feedback({ ...feedback('fay', 'FORGET_USER', null), eventTime: 3 });
    expect([0, 1].some((p) => t.d.store(USERS_STORE, p).has('fay'))).toBe(false);
    expect(t.d.tombstones('tasteEmbeddings')).toContain('fay');
    expect(t.d.tombstones('pairings')).toContain('fay');
    await t.d.pipeGlobal(t.tastesSpec, 'fay', null); // the tombstone reaches every instance's world
    expect(t.world.index()?.has('fay')).toBe(false);
    await t.d.advanceWallClock(1000);
    expect(((await t.pairings('gil')).at(-1) as UserPairing).buddies.map((b) => b.userId)).not.toContain('fay');
  });

  it('rebuilds a taste in new track embeddings when they are swapped in', async () => {
    const t = await setup();
    for (const tr of [1, 2, 3, 4]) await t.listen(listen('hal', `g2-t${tr}`));
    t.world.useEmbeddings({ embeddings, version: 'emb2' });
    for (const tr of [5, 6, 7, 8]) await t.listen(listen('hal', `g2-t${tr}`));
    const taste = (await t.tastes()).at(-1) as UserTasteEmbedding;
    expect(taste).toMatchObject({ userId: 'hal', embeddingVersion: 'emb2' });
    // rebuilt from the recent ring at the first event after the swap (its positives kept): 4 + 1, published then
    expect(taste.eventCount).toBe(5);
    expect((await t.lists('hal')).at(-1)?.modelVersion).toBe('buddies@emb:emb2+bpr:none');
  });

  it('dead-letters invalid events with the reason and refreshes at once on a dismissal', async () => {
    const t = await setup({ strategy: 'popular', refreshEvery: 100, k: 3 });
    await t.listen({ ...listen('ivy', 'g0-t1'), trackDurationMs: 0 });
    expect(t.d.deadLetters()).toHaveLength(1);
    expect(t.d.deadLetters()[0]?.code).toBe('VALIDATION');
    await t.listen(listen('ivy', 'g0-t1', 5_000));
    let out = await t.lists('ivy');
    expect(out).toHaveLength(1);
    const dismissed = out[0]?.items[0]?.playlistId as string;
    await t.feedback(feedback('ivy', 'DISMISS', dismissed));
    out = await t.lists('ivy');
    expect(out).toHaveLength(2);
    expect(out[1]?.items.map((i) => i.playlistId)).not.toContain(dismissed);
    await t.feedback(feedback('ivy', 'IMPRESSION', dismissed));
    expect(await t.lists('ivy')).toHaveLength(2);
  });
});
