import { createHash, randomUUID } from 'node:crypto';
import type { Neighbor } from '../models/pairing/index.js';
import type { Ranker, Recommendation } from '../models/ranking/index.js';
import { createRecommender, findBuddies, RECOMMEND_STRATEGIES, type RecommendResult, type RecommendStrategy } from '../models/recommend/index.js';
import {
  createTasteModel, type RecentRing, type TasteModel, type TasteModelOptions, type TasteSignal, type TasteState,
} from '../models/taste/index.js';
import {
  storeSpec, type FeedbackEvent, type KeyValueStore, type ListenEvent, type RecommendationList, type TaskContext, type TaskProcessor, type TaskRecord,
} from '../streams/index.js';
import type { LiveWorld } from './live-world.js';
import { validateFeedback, validateListen } from './validation.js';

export { RECOMMEND_STRATEGIES };
export type { RecommendStrategy };

/** Defaults of {@link createLiveRecommender} (and of `buddies start` / `buddies process recommender`). */
export const DEFAULT_RECOMMENDER_OPTIONS = {
  k: 10,
  refreshEvery: 5,
  strategy: 'buddies',
  /** A playlist shown and ignored is not shown again for this long (event time). */
  showExclusionMs: 24 * 3_600_000,
  /** Playlists remembered per user as excluded (owned, followed, dismissed, recently shown). */
  excludedCapacity: 500,
  /** Event ids remembered per user, so a replayed or duplicated event is not counted twice. */
  seenCapacity: 256,
  /** Followed playlists published per user (candidates for their buddies). */
  followsCapacity: 200,
  /** A taste is published (and so re-paired by others) when its cosine to the last published one falls below 1 − this. */
  tasteThreshold: 0.01,
  /** Recent items per user's taste (heard tracks; the basis of a rebuild after an embeddings swap). */
  recentCapacity: 100,
  /** A buddy's playlist created this recently (event time) may take the freshness slot, the last place of a list. */
  freshForMs: 24 * 3_600_000,
} as const;

/** Exclusions that never expire (owned, followed, dismissed); JSON has no Infinity. */
const FOREVER = Number.MAX_SAFE_INTEGER;

/** A user's state in the `users` store (JSON in its changelog): bounded whatever their history. */
export interface UserState {
  readonly v: 1;
  /** The incremental decayed taste (models/taste), `sum` as plain numbers; `updatedAt` null before any event. */
  taste: { sum: number[]; mass: number; positives: number; updatedAt: number | null; recent: RecentRing };
  /** Version of the track embeddings `taste.sum` lives in; on a swap the taste is rebuilt from `recent`. */
  embeddingVersion: string;
  /** Playlist → event time until which it is excluded ({@link FOREVER}: owned, followed, dismissed). */
  excluded: Record<string, number>;
  /** Followed playlists, newest first. */
  follows: string[];
  /** Ring of hashes of recent event ids. */
  seen: string[];
  seenHead: number;
  /** Events counted (each distinct event once). */
  events: number;
  sinceRefresh: number;
  lists: number;
  /** Buddies last published (ids, best first). */
  buddies: string[];
  /** The taste vector last published, or null. */
  published: number[] | null;
  /** The latest recommendation list, as published (for `buddies inspect`). */
  lastList: { recommendationId: string; generatedAt: number; modelVersion: string; playlists: string[] } | null;
}

/** The recommender's store: one entry per user of the task's partition, restored from its changelog. */
export const USERS_STORE = storeSpec<UserState>('users');

export interface RecommenderOptions {
  /** Playlists, tastes, pairing index and models of the whole world (global tables). */
  readonly world: LiveWorld;
  readonly ranker: Ranker;
  readonly strategy?: RecommendStrategy;
  /** Playlists per list (default 10). */
  readonly k?: number;
  /** Buddies per user (default 50). */
  readonly buddies?: number;
  /** Listens between two refreshes of a user's list (default 5); follows and dismissals refresh at once. */
  readonly refreshEvery?: number;
  /** A play counts as played through from this share of the track (default 0.5) or 30 s; else as a skip. */
  readonly playedThrough?: number;
  /** The incremental taste model (decay half-life, weights per feedback kind, recent ring, cold-start signal). */
  readonly taste?: Omit<TasteModelOptions, 'dims'>;
  readonly showExclusionMs?: number;
  readonly excludedCapacity?: number;
  readonly seenCapacity?: number;
  readonly tasteThreshold?: number;
  /** The freshness slot's window (0: no slot). */
  readonly freshForMs?: number;
  /**
   * Events older than this (epoch ms) only update the state; they trigger no list. Default: an hour before the
   * processor was created, so a backlog (an import, a long stop) is folded in without a burst of stale lists.
   */
  readonly listsFrom?: number;
  readonly now?: () => number;
  /** Event times further ahead of `now` are clamped to it (default `EVENT_RULES.maxFutureSkewMs`, 1 h). */
  readonly maxFutureSkewMs?: number;
  readonly random?: () => number;
  /** Counts events seen before (a replay or a duplicate), skipped. */
  readonly onDuplicate?: () => void;
}

/** Process-wide counters of the recommender (every task of the process). */
export interface RecommenderStats {
  lists: number;
  duplicates: number;
  tastesPublished: number;
  pairingsPublished: number;
  forgotten: number;
}

export interface LiveRecommender {
  /** A fresh processor for a task (the topology's `processor`). */
  processor(): TaskProcessor<'listens' | 'feedback'>;
  readonly stats: Readonly<RecommenderStats>;
  /**
   * The model version its lists carry now: `buddies@emb:<embeddings>+bpr:<bpr>`, the BPR being the one that serves
   * `user` (the canary's for users in its share, else production's; production's without a user).
   */
  modelVersion(user?: string): string;
  /** Lists written by the canary BPR model (process-wide). */
  readonly canaryLists: () => number;
}

const hashId = (id: string) => createHash('sha1').update(id).digest('base64url').slice(0, 12);

/**
 * The live recommender. Per user (in the `users` store, exactly-once with the outputs): the incremental decayed
 * taste of models/taste over the track embeddings in use, exclusions, follows and recent event ids. Buddies are the
 * nearest tastes in the world's pairing index (every listener who published a taste, and curators through their
 * playlists); candidates are playlists buddies made or follow; the ranker (with BPR when a model is announced)
 * orders them. A refresh writes, in the transaction of the input offsets, the taste (when it moved), the pairing
 * (when it changed) and the list.
 */
export function createLiveRecommender(opts: RecommenderOptions): LiveRecommender {
  const D = DEFAULT_RECOMMENDER_OPTIONS;
  const { world, ranker } = opts;
  const k = opts.k ?? D.k;
  const nBuddies = opts.buddies ?? 50;
  const every = opts.refreshEvery ?? D.refreshEvery;
  const through = opts.playedThrough ?? 0.5;
  const strategy = opts.strategy ?? D.strategy;
  const showFor = opts.showExclusionMs ?? D.showExclusionMs;
  const excludedCapacity = opts.excludedCapacity ?? D.excludedCapacity;
  const seenCapacity = opts.seenCapacity ?? D.seenCapacity;
  const threshold = opts.tasteThreshold ?? D.tasteThreshold;
  const freshFor = opts.freshForMs ?? D.freshForMs;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const listsFrom = opts.listsFrom ?? now() - 3_600_000;
  for (const [name, v] of [['k', k], ['refreshEvery', every], ['buddies', nBuddies], ['seenCapacity', seenCapacity], ['excludedCapacity', excludedCapacity]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  if (!(threshold >= 0 && threshold < 1)) throw new RangeError(`tasteThreshold must be in [0, 1), got ${threshold}`);
  const stats: RecommenderStats = { lists: 0, duplicates: 0, tastesPublished: 0, pairingsPublished: 0, forgotten: 0 };
  const models = new Map<number, TasteModel>();
  const modelFor = (dims: number): TasteModel => {
    let m = models.get(dims);
    if (!m) models.set(dims, (m = createTasteModel({ recentCapacity: D.recentCapacity, ...opts.taste, dims })));
    return m;
  };
  const embedding = () => {
    const e = world.embeddings();
    if (!e) throw new Error('no track embeddings in use');
    return e;
  };
  const bprOf = (user?: string) => (user === undefined ? world.bpr() : world.bprFor(user));
  const modelVersion = (user?: string) => (strategy === 'buddies' ? `buddies@emb:${world.embeddings()?.version ?? 'none'}+bpr:${bprOf(user)?.version ?? 'none'}` : strategy);
  let canaryLists = 0;
  const playlistVector = (id: string | null) => (id ? world.catalog.get(id)?.centroid : undefined);
  const vectorFor = (kind: TasteSignal, item: string) => (kind === 'follow' || kind === 'dismiss' ? playlistVector(item) : world.trackVector(item));

  const toTaste = (s: UserState): TasteState => ({
    sum: Float32Array.from(s.taste.sum), mass: s.taste.mass, positives: s.taste.positives,
    updatedAt: s.taste.updatedAt ?? Number.NEGATIVE_INFINITY, recent: s.taste.recent,
  });
  const setTaste = (s: UserState, t: TasteState) => {
    s.taste = { sum: Array.from(t.sum), mass: t.mass, positives: t.positives, updatedAt: Number.isFinite(t.updatedAt) ? t.updatedAt : null, recent: t.recent };
  };
  /** The user's taste in the embeddings in use: rebuilt from the recent ring after a swap. */
  const tasteOf = (s: UserState): { model: TasteModel; taste: TasteState } => {
    const e = embedding();
    const model = modelFor(e.embeddings.dims);
    if (s.embeddingVersion === e.version && s.taste.sum.length === e.embeddings.dims) return { model, taste: toTaste(s) };
    const old = s.taste.recent;
    let taste = model.empty();
    const n = old.items.length;
    for (let j = 0; j < n; j++) {
      const i = (old.head + j) % n; // oldest first
      const kind = old.kinds[i]!;
      taste = model.update(taste, { kind, itemId: old.items[i]!, vector: vectorFor(kind, old.items[i]!), at: old.at[i]! });
    }
    taste = { ...taste, positives: Math.max(taste.positives, s.taste.positives) };
    s.embeddingVersion = e.version;
    s.published = null; // republish in the new space
    setTaste(s, taste);
    return { model, taste };
  };

  const exclude = (s: UserState, playlistId: string, until: number) => {
    const prev = s.excluded[playlistId];
    if (prev !== undefined && prev >= until) return;
    delete s.excluded[playlistId]; // re-insert: insertion order is age order
    s.excluded[playlistId] = until;
    const keys = Object.keys(s.excluded);
    for (let i = 0; keys.length - i > excludedCapacity; i++) delete s.excluded[keys[i]!];
  };
  const activeExclusions = (s: UserState, at: number): Set<string> => {
    const out = new Set<string>();
    for (const [id, until] of Object.entries(s.excluded)) {
      if (until > at) out.add(id);
      else delete s.excluded[id];
    }
    return out;
  };

  const newUser = (user: string, at: number): UserState => {
    const s: UserState = {
      v: 1, taste: { sum: [], mass: 0, positives: 0, updatedAt: null, recent: { items: [], kinds: [], at: [], head: 0 } }, embeddingVersion: '',
      excluded: {}, follows: [], seen: [], seenHead: 0, events: 0, sinceRefresh: 0, lists: 0, buddies: [], published: null, lastList: null,
    };
    const { model, taste: empty } = tasteOf(s);
    let taste = empty;
    // a curator likes the tracks of their own playlists: that is their taste until they listen live
    for (const id of world.catalog.madeBy(user)) {
      exclude(s, id, FOREVER);
      for (const t of world.catalog.get(id)?.tracks ?? []) taste = model.update(taste, { kind: 'play', itemId: t, vector: world.trackVector(t), at });
    }
    setTaste(s, taste);
    return s;
  };

  /** True when the event was counted before; otherwise remembers it. */
  const duplicate = (s: UserState, eventId: string): boolean => {
    const h = hashId(eventId);
    if (s.seen.includes(h)) return true;
    if (s.seen.length < seenCapacity) s.seen.push(h);
    else s.seen[s.seenHead] = h;
    s.seenHead = (s.seenHead + 1) % seenCapacity;
    return false;
  };

  const fold = (s: UserState, kind: TasteSignal, itemId: string, vector: Float32Array | undefined, at: number) => {
    const { model, taste } = tasteOf(s);
    setTaste(s, model.update(taste, { kind, itemId, vector, at }));
  };

  /** The recommender the offline commands run too (models/recommend), over the live catalogue, pairing index and BPR in use. */
  const recommender = createRecommender({ catalog: world.catalog, index: () => world.index(), bpr: () => world.bpr() }, { strategy, ranker, buddies: nBuddies, random });
  /** The same over the canary BPR, for users in the canary's share (world.bprFor). */
  const canaryRecommender = createRecommender({ catalog: world.catalog, index: () => world.index(), bpr: () => world.canary()?.bpr }, { strategy, ranker, buddies: nBuddies, random });


  const cosine = (a: readonly number[], b: Float32Array) => {
    let d = 0;
    for (let i = 0; i < b.length; i++) d += (a[i] ?? 0) * b[i]!;
    return d; // both unit
  };

  /** Writes the user's taste when it moved past the threshold (or `force`); `state` is their taste state, `taste` its unit vector. */
  function publishTaste(user: string, s: UserState, model: TasteModel, state: TasteState, force: boolean, ctx: TaskContext, at: number) {
    const taste = model.vector(state);
    if (!taste || !model.hasSignal(state)) return;
    if (!force && s.published && s.published.length === taste.length && cosine(s.published, taste) >= 1 - threshold) return;
    s.published = Array.from(taste);
    stats.tastesPublished++;
    ctx.forward('tasteEmbeddings', { key: user, value: {
      userId: user, vector: s.published, mass: state.mass, eventCount: state.positives, embeddingVersion: s.embeddingVersion, updatedAt: at,
      follows: s.follows.slice(0, D.followsCapacity),
    } });
  }

  function publishPairing(user: string, s: UserState, buddies: readonly Neighbor[], ctx: TaskContext, at: number) {
    const ids = buddies.map((b) => b.id);
    if (ids.length === s.buddies.length && ids.every((id, i) => id === s.buddies[i])) return;
    s.buddies = ids;
    stats.pairingsPublished++;
    const index = world.index();
    ctx.forward('pairings', { key: user, value: {
      userId: user, buddies: buddies.map((b) => ({ userId: b.id, score: b.score })), modelVersion: `knn-${index?.kind ?? 'none'}@${s.embeddingVersion}`, updatedAt: at,
    } });
  }

  /**
   * The freshness slot: a playlist a buddy made within `freshForMs` that the ranking left out takes the last
   * place of a full list (the best buddy's first), so a new playlist reaches matching listeners at once instead
   * of competing with every established one on consensus. Explained as new from that buddy.
   */
  function withFreshSlot(recs: readonly Recommendation[], buddies: readonly Neighbor[], excluded: ReadonlySet<string>, at: number): Recommendation[] {
    if (freshFor <= 0 || recs.length < k || buddies.length === 0) return [...recs];
    const shown = new Set(recs.map((r) => r.playlistId));
    for (const b of buddies) {
      for (const id of world.catalog.madeBy(b.id)) {
        const created = world.catalog.createdAt(id);
        if (created === undefined || created < at - freshFor || shown.has(id) || excluded.has(id)) continue;
        const last = recs[recs.length - 1]!;
        const fresh: Recommendation = {
          playlistId: id, score: last.score, components: last.components,
          explanation: { reason: 'buddy', buddy: b.id, relation: 'made', tasteMatch: Math.round(Math.max(0, b.score) * 100), fresh: true },
        };
        return [...recs.slice(0, -1), fresh];
      }
    }
    return [...recs];
  }

  function refresh(user: string, s: UserState, ctx: TaskContext, at: number, followsChanged: boolean): void {
    s.sinceRefresh = 0;
    const { model, taste: state } = tasteOf(s);
    const taste = model.vector(state);
    const hasSignal = model.hasSignal(state);
    publishTaste(user, s, model, state, followsChanged, ctx, at);
    const heard = new Set(model.recentItems(state, ['play', 'like']));
    const excluded = activeExclusions(s, at);
    // one BPR per list, chosen once: the canary's for users in its share (a stable hash of the id), production's otherwise
    const served = world.bprFor(user);
    const inCanary = served !== undefined && served === world.canary()?.bpr && served !== world.bpr();
    const chosen: RecommendResult = (inCanary ? canaryRecommender : recommender).recommend({ id: user, taste, hasSignal, heard: (t) => heard.has(t), excluded }, k);
    const { buddies } = chosen;
    const recs = strategy === 'buddies' ? withFreshSlot(chosen.recs, buddies, excluded, at) : chosen.recs;
    if (strategy === 'buddies') publishPairing(user, s, buddies, ctx, at);
    if (recs.length === 0) return;
    const list: RecommendationList = {
      recommendationId: randomUUID(), userId: user, modelVersion: strategy === 'buddies' ? `buddies@emb:${world.embeddings()?.version ?? 'none'}+bpr:${served?.version ?? 'none'}` : strategy, coldStart: recs.every((r) => r.explanation.reason === 'popular'), generatedAt: now(),
      items: recs.map((r, i) => ({
        playlistId: r.playlistId, rank: i + 1, score: r.score,
        explanation: {
          buddyId: r.explanation.buddy ?? null,
          tasteMatch: Math.max(0, Math.min(1, r.explanation.tasteMatch / 100)),
          reason: r.explanation.reason === 'buddy' && r.explanation.buddy && r.explanation.fresh
            ? `new from your buddy ${r.explanation.buddy}, ${Math.round(r.explanation.tasteMatch)}% taste match`
            : r.explanation.reason === 'buddy' && r.explanation.buddy
            ? `${r.explanation.relation === 'made' ? 'made' : 'followed'} by your buddy ${r.explanation.buddy}, ${Math.round(r.explanation.tasteMatch)}% taste match`
            : strategy === 'random' ? 'random pick' : 'popular right now',
        },
      })),
    };
    // a shown playlist is not shown again for a while (a follow or a dismissal excludes it for good)
    for (const it of list.items) exclude(s, it.playlistId, at + showFor);
    s.lists++;
    if (inCanary && strategy === 'buddies') canaryLists++;
    s.lastList = { recommendationId: list.recommendationId, generatedAt: list.generatedAt, modelVersion: list.modelVersion, playlists: list.items.map((i) => i.playlistId) };
    stats.lists++;
    ctx.forward('recommendations', { key: user, value: list });
  }

  function onListen(e: ListenEvent, s: UserState, ctx: TaskContext): void {
    const playedThrough = e.msPlayed >= 30_000 || e.msPlayed >= through * e.trackDurationMs;
    // a track outside the embeddings still counts through the playlist it was played from
    const vector = world.trackVector(e.trackId) ?? playlistVector(e.playlistId);
    fold(s, playedThrough ? 'play' : 'skip', e.trackId, vector, e.eventTime);
    if (e.eventTime < listsFrom) return;
    s.sinceRefresh++;
    if (s.sinceRefresh >= every || s.lists === 0) refresh(e.userId, s, ctx, e.eventTime, false);
  }

  function onFeedback(e: FeedbackEvent, s: UserState, ctx: TaskContext): void {
    switch (e.kind) {
      case 'LIKE_TRACK':
        if (e.trackId) fold(s, 'like', e.trackId, world.trackVector(e.trackId), e.eventTime);
        return;
      case 'FOLLOW_PLAYLIST':
      case 'DISMISS': {
        if (!e.playlistId) return;
        fold(s, e.kind === 'DISMISS' ? 'dismiss' : 'follow', e.playlistId, playlistVector(e.playlistId), e.eventTime);
        exclude(s, e.playlistId, FOREVER);
        const follows = e.kind === 'FOLLOW_PLAYLIST';
        if (follows) s.follows = [e.playlistId, ...s.follows.filter((p) => p !== e.playlistId)].slice(0, D.followsCapacity);
        if (e.eventTime >= listsFrom) refresh(e.userId, s, ctx, e.eventTime, follows);
        return;
      }
      case 'UNFOLLOW_PLAYLIST':
        if (e.playlistId && s.follows.includes(e.playlistId)) {
          s.follows = s.follows.filter((p) => p !== e.playlistId);
          const { model, taste } = tasteOf(s);
          publishTaste(e.userId, s, model, taste, true, ctx, e.eventTime);
        }
        return;
      default:
        // skips arrive as short listens too; impressions and clicks do not move the taste
        return;
    }
  }

  /** Applies an event to its user's state, unless the state has counted it before (a replay or a duplicate). */
  function countOnce(store: KeyValueStore<UserState>, e: { readonly userId: string; readonly eventId: string; readonly eventTime: number }, apply: (s: UserState) => void): void {
    const s = store.get(e.userId) ?? newUser(e.userId, e.eventTime);
    if (duplicate(s, e.eventId)) {
      stats.duplicates++;
      opts.onDuplicate?.();
      return;
    }
    s.events++;
    apply(s);
    store.put(e.userId, s);
  }

  /** Users of this task whose published buddies include someone since forgotten get a fresh pairing. */
  function repairForgotten(store: KeyValueStore<UserState>, ctx: TaskContext, gone: readonly string[]): void {
    const set = new Set(gone);
    for (const [user, s] of store.entries()) {
      if (!s.buddies.some((b) => set.has(b))) continue;
      const { model, taste } = tasteOf(s);
      const vector = model.vector(taste);
      const index = world.index();
      const buddies = findBuddies(index, { id: user, taste: vector }, nBuddies);
      publishPairing(user, s, buddies.filter((b) => !set.has(b.id)), ctx, now());
      store.put(user, s);
    }
  }

  return {
    stats,
    modelVersion,
    canaryLists: () => canaryLists,
    processor(): TaskProcessor<'listens' | 'feedback'> {
      let forgottenSeen = 0;
      return {
        async init() {
          await world.settled();
          embedding(); // fails the task now, not at its first record, when there are no embeddings
        },
        process(record: TaskRecord<'listens' | 'feedback'>, ctx) {
          const store = ctx.store(USERS_STORE);
          const at = now();
          if (record.input === 'feedback') {
            const e = validateFeedback(record.value, at, opts.maxFutureSkewMs);
            if (e.kind === 'UNKNOWN') return; // a kind from a newer writer: not ours to interpret
            if (e.kind === 'FORGET_USER') {
              store.delete(e.userId);
              ctx.tombstone('tasteEmbeddings', e.userId);
              ctx.tombstone('pairings', e.userId);
              ctx.tombstone('recommendations', e.userId); // the latest list of the key: gone too (older ones age out with retention)
              stats.forgotten++;
              return;
            }
            countOnce(store, e, (s) => onFeedback(e, s, ctx));
            return;
          }
          const e = validateListen(record.value, at, opts.maxFutureSkewMs);
          countOnce(store, e, (s) => onListen(e, s, ctx));
        },
        punctuate(_type, _time, ctx) {
          if (world.forgotten.length === forgottenSeen) return;
          const gone = world.forgotten.slice(forgottenSeen);
          forgottenSeen = world.forgotten.length;
          repairForgotten(ctx.store(USERS_STORE), ctx, gone);
        },
      };
    },
  };
}
