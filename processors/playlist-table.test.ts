import { describe, expect, it } from 'vitest';
import type { PlaylistEvent } from '../streams/index.js';
import { foldPlaylists, pipelinePlaylists } from './playlist-table.js';

const ev = (id: string, kind: PlaylistEvent['kind'], t: number, extra: Partial<PlaylistEvent> = {}): PlaylistEvent => ({
  eventId: `${id}-${t}`, playlistId: id, kind, ownerId: 'o', name: id, tracks: ['a', 'b'], followers: 1, organic: true, eventTime: t, ...extra,
});

describe('playlist table', () => {
  it('keeps the newest state, drops deletes, ignores older late events and skips algorithmic or empty playlists', () => {
    const table = foldPlaylists([
      ev('1', 'CREATE', 1), ev('1', 'UPDATE', 3, { tracks: ['c'] }), ev('1', 'UPDATE', 2, { tracks: ['late'] }),
      ev('2', 'CREATE', 1), ev('2', 'DELETE', 2),
      ev('3', 'CREATE', 1, { organic: false }), ev('4', 'CREATE', 1, { tracks: [] }), ev('5', 'CREATE', 1, { ownerId: 'ana' }),
    ]);
    expect([...table.keys()].sort()).toEqual(['1', '3', '4', '5']);
    expect(table.get('1')?.tracks).toEqual(['c']);
    expect(pipelinePlaylists(table)).toEqual([
      { id: '1', owner: 'o', tracks: ['c'], followers: 1 },
      { id: '5', owner: 'ana', tracks: ['a', 'b'], followers: 1 },
    ]);
  });
});
