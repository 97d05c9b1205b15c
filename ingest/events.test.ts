import { describe, expect, it } from 'vitest';
import { interactionListens, mpdPlaylistEvents, SYNTHETIC_EPOCH_MS } from './events.js';

const playlist = {
  pid: 7, name: 'Road trip', num_followers: 3, modified_at: 1_500_000_000,
  tracks: [
    { pos: 0, track_uri: 'spotify:track:a', track_name: 'A', artist_name: 'X', duration_ms: 200_000 },
    { pos: 1, track_uri: 'spotify:track:b', track_name: 'B', artist_name: 'Y' },
  ],
};

describe('offline records to live events', () => {
  it('makes a playlist its owner\'s CREATE event, full plays before its modification, and follows', () => {
    const ev = mpdPlaylistEvents(playlist, new Map([[7, 'ana']]), ['bo']);
    expect(ev.playlist).toMatchObject({ eventId: 'mpd:7:create', playlistId: '7', ownerId: 'ana', tracks: ['spotify:track:a', 'spotify:track:b'], followers: 3, eventTime: 1_500_000_000_000 });
    expect(ev.listens.map((l) => [l.userId, l.trackId, l.msPlayed, l.trackDurationMs])).toEqual([['ana', 'spotify:track:a', 200_000, 200_000], ['ana', 'spotify:track:b', 210_000, 210_000]]);
    expect(ev.listens.every((l) => l.eventTime < ev.playlist.eventTime && l.playlistId === '7' && l.source === 'ORGANIC_PLAYLIST')).toBe(true);
    expect(ev.follows).toEqual([expect.objectContaining({ userId: 'bo', kind: 'FOLLOW_PLAYLIST', playlistId: '7' })]);
  });

  it('gives a real MPD playlist (no owners file) its own user, and is deterministic', () => {
    const a = mpdPlaylistEvents(playlist);
    expect(a.playlist.ownerId).toBe('mpd-user-7');
    expect(mpdPlaylistEvents(playlist)).toEqual(a);
  });

  it('keys a renamed playlist\'s events and owner by its id (PID~2)', () => {
    const first = mpdPlaylistEvents(playlist);
    const second = mpdPlaylistEvents(playlist, undefined, ['bo'], '7~2');
    expect(second.playlist).toMatchObject({ eventId: 'mpd:7~2:create', playlistId: '7~2', ownerId: 'mpd-user-7~2' });
    expect(second.listens.map((l) => [l.eventId, l.playlistId, l.userId])).toEqual([['mpd:7~2:0:play', '7~2', 'mpd-user-7~2'], ['mpd:7~2:1:play', '7~2', 'mpd-user-7~2']]);
    expect(second.follows.map((f) => f.eventId)).toEqual(['mpd:7~2:follow:bo']);
    // no event id of one is an event id of the other: deduplication keeps both playlists
    const eventIds = (e: typeof first) => [e.playlist.eventId, ...e.listens.map((l) => l.eventId), ...e.follows.map((f) => f.eventId)];
    expect(eventIds(first).filter((id) => eventIds(second).includes(id))).toEqual([]);
    // a generated world's owner stays the owners file's
    expect(mpdPlaylistEvents(playlist, new Map([[7, 'ana']]), [], '7~2').playlist.ownerId).toBe('ana');
  });

  it('turns a user-item row into capped plays at stable synthetic times', () => {
    const plays = interactionListens({ user: 'u1', item: '51', weight: 13_883 }, 'lastfm', 20);
    expect(plays).toHaveLength(20);
    expect(new Set(plays.map((p) => p.eventId)).size).toBe(20);
    expect(plays.every((p) => p.trackId === 'lastfm:artist:51' && p.eventTime < SYNTHETIC_EPOCH_MS)).toBe(true);
    expect(interactionListens({ user: 'u1', item: '51', weight: 13_883 }, 'lastfm', 20)).toEqual(plays);
    expect(interactionListens({ user: 'u', item: 's', weight: 0.2 }, 'triplets', 20)).toHaveLength(1);
  });
});
