import type { Interaction, MpdPlaylist } from '../data/index.js';
import type { FeedbackEvent, ListenEvent, PlaylistEvent } from '../streams/index.js';

/**
 * Pure mappings from offline records to live events. Every id and time is derived from the record
 * itself, so importing the same data twice yields identical events (the warehouse folds them).
 */

/** Default track length when a dataset has none (MPD reduced schema, Taste Profile, Last.fm). */
export const DEFAULT_DURATION_MS = 210_000;
/** Plays without a time (Taste Profile, Last.fm) are spread over the 90 days before this instant. */
export const SYNTHETIC_EPOCH_MS = Date.UTC(2026, 0, 1);
const NINETY_DAYS_MS = 90 * 24 * 3600 * 1000;

/** FNV-1a, 32 bits: a fast, stable string hash for synthetic times. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Owner of a playlist: from a generated world's owners.tsv, else the playlist's own user (named by its unique id). */
export function mpdOwner(pid: number, owners: ReadonlyMap<number, string> | undefined, playlistId: string = String(pid)): string {
  return owners?.get(pid) ?? `mpd-user-${playlistId}`;
}

export interface MpdEvents {
  readonly playlist: PlaylistEvent;
  readonly listens: ListenEvent[];
  readonly follows: FeedbackEvent[];
}

/**
 * A playlist becomes a CREATE event by its owner, who played each of its tracks through (before the
 * playlist's last modification), plus a FOLLOW_PLAYLIST event per known follower. `playlistId` (default the pid)
 * names the playlist and its events: pass the one `createPlaylistIdNamer` (models/pipeline) gives when pids may repeat.
 */
export function mpdPlaylistEvents(p: MpdPlaylist, owners?: ReadonlyMap<number, string>, followers: readonly string[] = [], playlistId: string = String(p.pid)): MpdEvents {
  const owner = mpdOwner(p.pid, owners, playlistId);
  const modified = (p.modified_at ?? SYNTHETIC_EPOCH_MS / 1000) * 1000;
  const n = p.tracks.length;
  return {
    playlist: {
      eventId: `mpd:${playlistId}:create`, playlistId, kind: 'CREATE', ownerId: owner, name: p.name,
      tracks: p.tracks.map((t) => t.track_uri), followers: p.num_followers, organic: true, eventTime: modified,
    },
    listens: p.tracks.map((t) => {
      const duration = t.duration_ms ?? DEFAULT_DURATION_MS;
      return {
        eventId: `mpd:${playlistId}:${t.pos}:play`, userId: owner, trackId: t.track_uri, playlistId, source: 'ORGANIC_PLAYLIST',
        msPlayed: duration, trackDurationMs: duration, eventTime: modified - (n - t.pos) * 60_000, recommendationId: null,
      };
    }),
    follows: followers.map((user) => ({
      eventId: `mpd:${playlistId}:follow:${user}`, userId: user, kind: 'FOLLOW_PLAYLIST', trackId: null, playlistId,
      recommendationId: null, position: null, eventTime: modified + (fnv1a(user) % 86_400) * 1000,
    })),
  };
}

/**
 * A user–item row becomes min(weight, maxPlays) full plays (at least one), at synthetic but stable times.
 * Last.fm items are artists: their ids become `lastfm:artist:ID`.
 */
export function interactionListens(row: Interaction, format: 'lastfm' | 'triplets', maxPlays: number): ListenEvent[] {
  const trackId = format === 'lastfm' ? `lastfm:artist:${row.item}` : row.item;
  const plays = Math.max(1, Math.min(maxPlays, Math.round(row.weight)));
  const out: ListenEvent[] = [];
  for (let k = 0; k < plays; k++) {
    const id = `${format}:${row.user}:${row.item}:${k}`;
    out.push({
      eventId: id, userId: row.user, trackId, playlistId: null, source: 'LIBRARY', msPlayed: DEFAULT_DURATION_MS,
      trackDurationMs: DEFAULT_DURATION_MS, eventTime: SYNTHETIC_EPOCH_MS - NINETY_DAYS_MS + (fnv1a(id) % NINETY_DAYS_MS), recommendationId: null,
    });
  }
  return out;
}

/** Catalogue row for ClickHouse's `tracks` table (names as the dataset gives them). */
export function trackRow(t: MpdPlaylist['tracks'][number]): Record<string, string | number> {
  return {
    track_id: t.track_uri, track_name: t.track_name, artist_id: t.artist_uri ?? '', artist_name: t.artist_name,
    album_id: t.album_uri ?? '', album_name: t.album_name ?? '', duration_ms: t.duration_ms ?? 0,
  };
}
