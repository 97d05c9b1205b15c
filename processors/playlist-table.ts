import type { Kafka } from 'kafkajs';
import type { PipelinePlaylist } from '../models/pipeline/index.js';
import { readTopicSnapshot, type AvroSerde, type PlaylistEvent } from '../streams/index.js';

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

/** The playlist table as it stands: the playlists topic read to its end and folded ({@link foldPlaylists}). */
export async function readPlaylistTable(kafka: Kafka, serde: AvroSerde): Promise<Map<string, PlaylistEvent>> {
  const events: PlaylistEvent[] = [];
  for (const m of await readTopicSnapshot(kafka, serde.topics.name('playlists'))) if (m.value) events.push(await serde.decode('playlists', m.value));
  return foldPlaylists(events);
}
