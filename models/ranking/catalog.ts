import type { PlaylistCatalog, PlaylistInfo } from './types.js';

/** An in-memory catalogue (offline commands, tests); popularity = log1p(followers) + w·log1p(engagement). */
export function createMemoryCatalog(
  playlists: Iterable<PlaylistInfo>,
  follows: Iterable<{ readonly user: string; readonly playlist: string }> = [],
  engagementWeight = 1,
): PlaylistCatalog {
  const byId = new Map<string, PlaylistInfo>();
  const made = new Map<string, string[]>();
  const followed = new Map<string, string[]>();
  for (const p of playlists) {
    byId.set(p.id, p);
    const l = made.get(p.owner);
    if (l) l.push(p.id);
    else made.set(p.owner, [p.id]);
  }
  for (const f of follows) {
    const l = followed.get(f.user);
    if (l) l.push(f.playlist);
    else followed.set(f.user, [f.playlist]);
  }
  const pop = (p: PlaylistInfo) => Math.log1p(p.followers) + engagementWeight * Math.log1p(p.engagement);
  const ranked = [...byId.values()].filter((p) => p.organic).sort((a, b) => pop(b) - pop(a) || (a.id < b.id ? -1 : 1)).map((p) => p.id);
  return {
    get: (id) => byId.get(id),
    madeBy: (u) => made.get(u) ?? [],
    followedBy: (u) => followed.get(u) ?? [],
    popular: (limit) => ranked.slice(0, limit),
  };
}

/** Mean of the unit vectors of a playlist's tracks (skipping those without one), or undefined. */
export function playlistCentroid(tracks: readonly string[], vectorOf: (id: string) => Float32Array | undefined, dims: number): Float32Array | undefined {
  const c = new Float32Array(dims);
  let n = 0;
  for (const t of tracks) {
    const v = vectorOf(t);
    if (!v) continue;
    for (let i = 0; i < dims; i++) c[i]! += v[i]!;
    n++;
  }
  if (n === 0) return undefined;
  for (let i = 0; i < dims; i++) c[i]! /= tracks.length;
  return c;
}
