import { createHash } from 'node:crypto';
import type { BprFactors } from '../models/bpr/index.js';
import { vectorOf, type ItemEmbeddings } from '../models/embeddings/index.js';
import { createExactIndex, createHnswIndex, type PairingIndex } from '../models/pairing/index.js';
import { errorMessage, globalTableSpec, type GlobalTableSpec, type ModelAnnouncement, type PlaylistEvent, type UserTasteEmbedding } from '../streams/index.js';
import { canaryOf, isCanaryKey, loadAnnouncedBpr, loadAnnouncedEmbeddings } from '../registry/index.js';
import { createLiveCatalog, type LiveCatalog } from './live-catalog.js';

/** Which pairing index holds the live tastes: exact below {@link AUTO_HNSW_USERS} users, then HNSW (`auto`). */
export type LiveIndexKind = 'auto' | 'exact' | 'hnsw';

/** Past this many paired users, an `auto` world moves its tastes from the exact index to HNSW. */
export const AUTO_HNSW_USERS = 20_000;

/** A BPR model in use: its version and a scorer for the ranker. */
export interface LiveBpr {
  readonly version: string;
  /** Users and playlists the model knows (for the log). */
  readonly users?: number;
  readonly playlists?: number;
  /** Raw scores of the playlists for the user (0 for a playlist the model does not know), or undefined for an unknown user. */
  score(user: string, playlists: readonly string[]): Float32Array | undefined;
}

/** A canary BPR model in use beside production, and the share of users it serves. */
export interface LiveCanary {
  readonly bpr: LiveBpr;
  /** In (0, 1): users whose {@link canaryBucket} is below it are served by the canary. */
  readonly share: number;
}

/**
 * A user's place in [0, 1) for canaries: the first 32 bits of the sha256 of their id. Stable across restarts,
 * instances and canaries, so a user in a canary of share s stays in it while s grows.
 */
export function canaryBucket(userId: string): number {
  return createHash('sha256').update(userId).digest().readUInt32BE(0) / 2 ** 32;
}

/** A set of track embeddings in use and its version. */
export interface LiveEmbeddings {
  readonly embeddings: ItemEmbeddings;
  readonly version: string;
}

export interface LiveWorldOptions {
  /** Tastes with fewer positive events than this stay out of the pairing index (nobody's buddy yet). */
  readonly minSignal: number;
  readonly index?: LiveIndexKind;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

/**
 * What every instance of the live recommender knows about the whole world, kept up to date from three global
 * tables: the playlists (a live catalogue), every user's latest taste (a pairing index, and who follows what) and
 * the model announcements (track embeddings and BPR, loaded from their artifacts and swapped live). It is process
 * state derived from compacted or retained topics: a restart rebuilds it by reading them again.
 */
export interface LiveWorld {
  readonly catalog: LiveCatalog;
  /** Global table specs for the topology: playlists, tastes, models. */
  readonly globals: readonly [GlobalTableSpec<'playlists'>, GlobalTableSpec<'tasteEmbeddings'>, GlobalTableSpec<'modelAnnouncements'>];
  embeddings(): LiveEmbeddings | undefined;
  /** Puts embeddings in use (at start, before any is announced). */
  useEmbeddings(e: LiveEmbeddings): void;
  trackVector(trackId: string): Float32Array | undefined;
  /** The index of users whose taste is in the embeddings in use; undefined before there are embeddings. */
  index(): PairingIndex | undefined;
  /** The production BPR model. */
  bpr(): LiveBpr | undefined;
  /** The canary BPR model and its share, while one is announced (on `bpr@canary`) and loaded. */
  canary(): LiveCanary | undefined;
  /** The BPR model that serves `user`: the canary's when they are in its share, else production's. */
  bprFor(user: string): LiveBpr | undefined;
  /** Resolves once every announced model seen so far is loaded (or failed to load, which is logged). */
  settled(): Promise<void>;
  /** Users whose taste was deleted (forgotten), in order: `forgotten.slice(n)` are the ones since a reader's n. */
  readonly forgotten: readonly string[];
  close(): Promise<void>;
}

export function createLiveWorld(opts: LiveWorldOptions): LiveWorld {
  const log = opts.log ?? (() => {});
  const kind = opts.index ?? 'auto';
  const catalog = createLiveCatalog(opts.now);
  /** Unit taste vectors published by the users (the taste topic), in the embeddings in use. */
  const vectors = new Map<string, Float32Array>();
  /**
   * Curators' tastes from the playlists they made (unit mean of the centroids), for curators who have published no
   * taste of their own: a curator is a buddy from their first playlist, a listener from their own listening.
   */
  const owned = new Map<string, Float32Array>();
  const vectorFor = (user: string) => vectors.get(user) ?? owned.get(user);
  const reindex = (user: string) => {
    if (!index) return;
    const v = vectorFor(user);
    if (v) index.upsert(user, v);
    else index.remove(user);
  };
  const ownerTaste = (owner: string): Float32Array | undefined => {
    if (!emb) return undefined;
    const sum = new Float32Array(emb.embeddings.dims);
    let any = false;
    for (const id of catalog.madeBy(owner)) {
      const c = catalog.get(id)?.centroid;
      if (!c) continue;
      for (let i = 0; i < c.length; i++) sum[i]! += c[i]!;
      any = true;
    }
    return any ? unit(sum) : undefined;
  };
  const refreshOwner = (owner: string) => {
    const v = ownerTaste(owner);
    if (v) owned.set(owner, v);
    else owned.delete(owner);
    if (!vectors.has(owner)) reindex(owner);
  };
  let emb: LiveEmbeddings | undefined;
  let index: PairingIndex | undefined;
  let bpr: LiveBpr | undefined;
  let canary: LiveCanary | undefined;
  /** Per slot (a model name), the latest announcement's number: a load that finishes after a newer record was seen is dropped. */
  const latestSeq = new Map<string, number>();
  let seq = 0;
  const pending = new Set<Promise<void>>();
  const forgotten: string[] = [];

  const newIndex = (dims: number, n: number): PairingIndex =>
    kind === 'hnsw' || (kind === 'auto' && n > AUTO_HNSW_USERS)
      ? createHnswIndex({ dims, capacity: Math.max(1024, n * 2) })
      : createExactIndex({ dims, threads: 1, capacity: Math.max(1024, n * 2) });
  const rebuild = () => {
    const old = index;
    const users = new Set([...vectors.keys(), ...owned.keys()]);
    index = emb ? newIndex(emb.embeddings.dims, users.size) : undefined;
    if (index) for (const u of users) index.upsert(u, vectorFor(u)!);
    void old?.close();
  };

  const applyTaste = (user: string, t: UserTasteEmbedding | undefined) => {
    catalog.applyFollows(user, t?.follows);
    if (!t) {
      vectors.delete(user);
      owned.delete(user);
      index?.remove(user);
      forgotten.push(user);
      return;
    }
    const v = unit(Float32Array.from(t.vector));
    const fits = v && emb && t.embeddingVersion === emb.version && v.length === emb.embeddings.dims && t.eventCount >= opts.minSignal;
    if (fits) vectors.set(user, v);
    else vectors.delete(user);
    if (index?.kind === 'exact' && kind === 'auto' && index.size > AUTO_HNSW_USERS) {
      log(`recommender: ${index.size} paired users; moving the pairing index to HNSW`);
      rebuild();
    } else reindex(user);
  };

  const useEmbeddings = (e: LiveEmbeddings) => {
    if (emb?.version === e.version) return;
    emb = e;
    catalog.setVectors((id) => vectorOf(e.embeddings, id), e.embeddings.dims, e.version);
    // tastes in the old space mean nothing in the new one: each listener rejoins the index when they next publish;
    // curators' tastes are recomputed from their playlists at once
    vectors.clear();
    owned.clear();
    for (const owner of catalog.owners()) {
      const v = ownerTaste(owner);
      if (v) owned.set(owner, v);
    }
    rebuild();
    log(`recommender: track embeddings ${e.version} in use (${e.embeddings.vocabulary.ids.length} tracks, ${e.embeddings.dims} dims)`);
  };

  const load = (key: string, a: ModelAnnouncement) => {
    const mine = ++seq;
    latestSeq.set(key, mine);
    const current = () => latestSeq.get(key) === mine;
    const p = (async () => {
      if (isCanaryKey(key)) {
        const c = canaryOf(a);
        if (a.kind !== 'BPR' || !c) throw new Error(`not a BPR canary announcement (kind ${a.kind}, share ${a.metrics['canary.share']})`);
        // the same version with a new share needs no load
        const scorer = canary?.bpr.version === a.modelVersion ? canary.bpr
          : bpr?.version === a.modelVersion ? bpr
          : bprScorer((await loadAnnouncedBpr(a)).factors, a.modelVersion);
        if (!current()) return;
        canary = { bpr: scorer, share: c.share };
        log(`recommender: BPR canary ${a.modelVersion} in use for ${Math.round(c.share * 1000) / 10}% of users`);
        return;
      }
      // from the model registry's folder, every file checked against its checksum
      if (a.kind === 'TRACK_EMBEDDINGS') {
        if (emb?.version === a.modelVersion) return;
        const { embeddings } = await loadAnnouncedEmbeddings(a);
        useEmbeddings({ embeddings, version: a.modelVersion });
      } else if (a.kind === 'BPR') {
        if (bpr?.version === a.modelVersion) return;
        // a promoted canary is in memory already: the swap is immediate
        const next = canary?.bpr.version === a.modelVersion ? canary.bpr : bprScorer((await loadAnnouncedBpr(a)).factors, a.modelVersion);
        if (!current()) return;
        bpr = next;
        log(`recommender: BPR ${a.modelVersion} in use (${next.users ?? '?'} users, ${next.playlists ?? '?'} playlists)`);
      }
    })().catch((err: unknown) => log(`recommender: model ${key} ${a.modelVersion} not loaded (${errorMessage(err)}); keeping the one in use`));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  return {
    catalog,
    globals: [
      globalTableSpec('playlists', 'playlists', (id, e: PlaylistEvent | undefined) => {
        const before = catalog.get(id)?.owner;
        catalog.applyPlaylist(id, e);
        const after = catalog.get(id)?.owner;
        if (before !== undefined) refreshOwner(before);
        if (after !== undefined && after !== before) refreshOwner(after);
      }),
      globalTableSpec('tastes', 'tasteEmbeddings', applyTaste),
      globalTableSpec('models', 'modelAnnouncements', (key, a: ModelAnnouncement | undefined) => {
        if (!a && isCanaryKey(key)) {
          // the canary ended (promoted or rolled back): everyone is served by production from the next list on
          latestSeq.set(key, ++seq);
          if (canary) log(`recommender: BPR canary ${canary.bpr.version} ended`);
          canary = undefined;
          return;
        }
        if (!a || a.kind === 'UNKNOWN' || a.kind === 'PAIRING') return;
        load(key, a);
      }),
    ],
    embeddings: () => emb,
    useEmbeddings,
    trackVector: (id) => (emb ? vectorOf(emb.embeddings, id) : undefined),
    index: () => index,
    bpr: () => bpr,
    canary: () => canary,
    bprFor: (user) => (canary && canaryBucket(user) < canary.share ? canary.bpr : bpr),
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    forgotten,
    async close() {
      await this.settled();
      await index?.close();
    },
  };
}

function unit(v: Float32Array): Float32Array | undefined {
  let n = 0;
  for (const x of v) n += x * x;
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/**
 * A scorer over BPR factors: user row · playlist row (the bias column included). A playlist the model does not
 * know (newer than its training data) scores as the lowest known candidate of the request: a raw 0 would rank it
 * above most known playlists (their scores for a user are mostly below 0), favouring whatever the model never saw,
 * as trainer/evaluate.ts does not. With no known candidate there is no BPR signal (undefined).
 */
export function bprScorer(f: BprFactors, version: string): LiveBpr {
  const s = f.stride;
  return {
    version,
    users: f.users.ids.length,
    playlists: f.items.ids.length,
    score(user, playlists) {
      const u = f.users.indexOf(user);
      if (u === undefined) return undefined;
      const out = new Float32Array(playlists.length);
      let lowest = Infinity;
      const unknown: number[] = [];
      playlists.forEach((p, k) => {
        const i = f.items.indexOf(p);
        if (i === undefined) {
          unknown.push(k);
          return;
        }
        let x = 0;
        for (let c = 0; c < s; c++) x += f.userFactors[u * s + c]! * f.itemFactors[i * s + c]!;
        out[k] = x;
        if (out[k]! < lowest) lowest = out[k]!;
      });
      if (lowest === Infinity) return undefined;
      for (const k of unknown) out[k] = lowest;
      return out;
    },
  };
}
