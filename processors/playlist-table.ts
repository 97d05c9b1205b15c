import type { PipelinePlaylist } from '../models/pipeline/index.js';
import type { PlaylistEvent } from '../streams/index.js';

/** The latest state of each playlist, folded from playlist events (a table over the playlists topic). */
export function foldPlaylists(events: Iterable<PlaylistEvent>): Map<string, PlaylistEvent> {
  const table = new Map<string, PlaylistEvent>();
  for (const e of events) {
    if (e.kind === 'UNKNOWN') continue; // a kind from a newer writer: not ours to interpret
    const prev = table.get(e.playlistId);
    if (prev && prev.eventTime > e.eventTime) continue; // a late, older event does not undo a newer one
    if (e.kind === 'DELETE') table.delete(e.playlistId);
    else table.set(e.playlistId, e);
  }
  return table;
}

/** Organic playlists with tracks, as the recommendation pipeline takes them. */
export function pipelinePlaylists(table: ReadonlyMap<string, PlaylistEvent>): PipelinePlaylist[] {
  return [...table.values()]
    .filter((p) => p.organic && p.tracks.length > 0)
    .map((p) => ({ id: p.playlistId, owner: p.ownerId, tracks: p.tracks, followers: p.followers }));
}
