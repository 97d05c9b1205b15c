import { playlistCentroid, type PlaylistCatalog, type PlaylistInfo } from '../models/ranking/index.js';
import type { PlaylistEvent } from '../streams/index.js';

/**
 * The playlist world of the live recommender, kept up to date from two global tables: the playlists topic
 * (created, updated and deleted playlists) and the taste-embedding topic (each user's followed playlists).
 * Centroids are computed against the track embeddings in use and recomputed after a swap, lazily, per playlist.
 */
export interface LiveCatalog extends PlaylistCatalog {
  /** A playlist event from the playlists topic (the latest for its key). Non-organic and empty playlists are kept out. */
  applyPlaylist(id: string, e: PlaylistEvent | undefined): void;
  /** The playlists a user follows now (from their latest taste record; [] or undefined: none). */
  applyFollows(user: string, follows: readonly string[] | undefined): void;
  /** New track embeddings: every centroid is recomputed on its next read. */
  setVectors(vectorOf: (trackId: string) => Float32Array | undefined, dims: number, version: string): void;
  /** Number of playlists that can be recommended. */
  readonly size: number;
  /** When the playlist was created (its CREATE event's time; the first event seen of it otherwise). */
  createdAt(playlistId: string): number | undefined;
  /** Users who made at least one playlist in the catalogue. */
  owners(): IterableIterator<string>;
}

interface Entry {
  readonly event: PlaylistEvent;
  info: PlaylistInfo | undefined;
  /** Embedding version `info.centroid` was computed against. */
  version: string;
}

/** How often (at most) the popularity order is recomputed after changes, in ms. */
const POPULAR_REFRESH_MS = 1000;

export function createLiveCatalog(now: () => number = Date.now): LiveCatalog {
  const entries = new Map<string, Entry>();
  const made = new Map<string, Set<string>>();
  const followed = new Map<string, readonly string[]>();
  const followers = new Map<string, number>();
  /** Creation time per playlist in the catalogue. */
  const created = new Map<string, number>();
  /** Deleted playlists and when: a late create or update must not bring one back. */
  const deleted = new Map<string, number>();
  let vectorOf: (trackId: string) => Float32Array | undefined = () => undefined;
  let dims = 1;
  let version = '';
  let popular: string[] | undefined;
  let popularAt = 0;
  let dirty = true;

  const unown = (e: PlaylistEvent) => {
    const s = made.get(e.ownerId);
    s?.delete(e.playlistId);
    if (s?.size === 0) made.delete(e.ownerId);
  };
  const infoOf = (entry: Entry): PlaylistInfo => {
    if (entry.info && entry.version === version) return entry.info;
    const e = entry.event;
    const live = followers.get(e.playlistId) ?? 0;
    const tracks = [...new Set(e.tracks)];
    entry.info = {
      id: e.playlistId, owner: e.ownerId, tracks, followers: e.followers + live, engagement: live, organic: e.organic,
      centroid: playlistCentroid(tracks, vectorOf, dims),
    };
    entry.version = version;
    return entry.info;
  };
  const bump = (playlistId: string, by: number) => {
    const n = (followers.get(playlistId) ?? 0) + by;
    if (n <= 0) followers.delete(playlistId);
    else followers.set(playlistId, n);
    const entry = entries.get(playlistId);
    if (entry?.info) entry.info = { ...entry.info, followers: entry.event.followers + Math.max(0, n), engagement: Math.max(0, n) };
    dirty = true;
  };

  return {
    get size() { return entries.size; },
    get: (id) => {
      const entry = entries.get(id);
      return entry ? infoOf(entry) : undefined;
    },
    madeBy: (u) => [...(made.get(u) ?? [])],
    followedBy: (u) => followed.get(u) ?? [],
    owners: () => made.keys(),
    createdAt: (id) => (entries.has(id) ? created.get(id) : undefined),
    popular(limit) {
      const t = now();
      if (!popular || (dirty && t - popularAt >= POPULAR_REFRESH_MS)) {
        const score = (i: PlaylistInfo) => Math.log1p(i.followers) + Math.log1p(i.engagement);
        popular = [...entries.values()].map(infoOf).sort((a, b) => score(b) - score(a) || (a.id < b.id ? -1 : 1)).map((i) => i.id);
        popularAt = t;
        dirty = false;
      }
      return popular.slice(0, limit);
    },
    applyPlaylist(id, e) {
      if (e?.kind === 'UNKNOWN') return; // a kind from a newer writer: not ours to interpret
      const prev = entries.get(id);
      const newest = prev?.event.eventTime ?? deleted.get(id);
      if (e && newest !== undefined && newest > e.eventTime) return; // a late, older event does not undo a newer one
      if (prev) {
        unown(prev.event);
        entries.delete(id);
      }
      dirty = true;
      if (!e || e.kind === 'DELETE') {
        deleted.set(id, e?.eventTime ?? now());
        created.delete(id);
        return;
      }
      if (e.kind === 'CREATE' || !created.has(id)) created.set(id, Math.min(e.eventTime, created.get(id) ?? Infinity));
      deleted.delete(id);
      if (!e.organic || e.tracks.length === 0) return; // never offered
      entries.set(id, { event: e, info: undefined, version: '' });
      made.set(e.ownerId, (made.get(e.ownerId) ?? new Set()).add(id));
    },
    applyFollows(user, list) {
      for (const p of followed.get(user) ?? []) bump(p, -1);
      if (list && list.length > 0) {
        followed.set(user, [...list]);
        for (const p of list) bump(p, 1);
      } else followed.delete(user);
    },
    setVectors(fn, d, v) {
      vectorOf = fn;
      dims = d;
      version = v;
    },
  };
}
