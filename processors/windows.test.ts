import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import {
  createLocalSerde, createTopologyTestDriver, type AvroSerde, type FeedbackEvent, type FeedbackKind, type InteractionWindow, type ListenEvent,
} from '../streams/index.js';
import { EVENT_RULES } from './validation.js';
import {
  DEFAULT_WINDOW_OPTIONS, INTERACTION_WEIGHTS, interactionOf, STREAM_TIME_KEY, WINDOWS_META_STORE, WINDOWS_STORE, windowsTopology, type WindowsOptions,
} from './windows.js';

let serde: AvroSerde;
beforeAll(async () => { serde = await createLocalSerde(join(findRootDir(), 'schemas')); });

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const W = 60_000;
const G = 10_000;
/** The start of a window well in the past of NOW. */
const T0 = NOW - 100 * W;

let seq = 0;
const listen = (userId: string, at: number, playlistId: string | null, msPlayed = 120_000, trackDurationMs = 200_000): ListenEvent => ({
  eventId: `l${++seq}`, userId, trackId: 't1', playlistId, source: playlistId ? 'ORGANIC_PLAYLIST' : 'LIBRARY', msPlayed, trackDurationMs, eventTime: at, recommendationId: null,
});
const feedback = (userId: string, at: number, kind: FeedbackKind, playlistId: string | null = null, trackId: string | null = null): FeedbackEvent => ({
  eventId: `f${++seq}`, userId, kind, trackId, playlistId, recommendationId: null, position: null, eventTime: at,
});

/** The windows topology (W = 1 min, G = 10 s unless told) in the test driver, with a late-event counter. */
function windows(over: Partial<WindowsOptions> = {}, partitions = 1) {
  const late = { n: 0 };
  const d = createTopologyTestDriver(windowsTopology({ applicationId: 'windows-test', windowMs: W, graceMs: G, now: () => NOW, onLate: (n) => { late.n += n; }, ...over }), { serde, partitions });
  return {
    d,
    late,
    listen: (e: ListenEvent, partition?: number) => d.pipe('listens', e.userId, e, partition === undefined ? {} : { partition }),
    feedback: (e: FeedbackEvent, partition?: number) => d.pipe('feedback', e.userId, e, partition === undefined ? {} : { partition }),
    /** Committed windows, decoded, as `key: window`. */
    emitted: async (): Promise<Array<{ key: string | null; value: InteractionWindow }>> => d.outputs('interactionWindows'),
    streamTime: (partition = 0) => d.store(WINDOWS_META_STORE, partition).get(STREAM_TIME_KEY),
  };
}

describe('interactionOf: what an event weighs', () => {
  it('counts a listen from a playlist as a play (30 s, or half the track) or a skip', () => {
    expect(interactionOf({ input: 'listens', value: listen('u', T0, 'p1', 30_000) })).toEqual({ playlistId: 'p1', weight: INTERACTION_WEIGHTS.play });
    expect(interactionOf({ input: 'listens', value: listen('u', T0, 'p1', 29_999) })).toEqual({ playlistId: 'p1', weight: INTERACTION_WEIGHTS.skip });
    expect(interactionOf({ input: 'listens', value: listen('u', T0, 'p1', 25_000, 50_000) })).toEqual({ playlistId: 'p1', weight: 1 }); // half a short track
    expect(interactionOf({ input: 'listens', value: listen('u', T0, 'p1', 24_999, 50_000) })).toEqual({ playlistId: 'p1', weight: -0.5 });
    expect(interactionOf({ input: 'listens', value: listen('u', T0, null) })).toBeUndefined();
  });

  it('weighs playlist feedback and ignores the rest', () => {
    const w = (kind: FeedbackKind, playlistId: string | null = 'p1', trackId: string | null = null) => interactionOf({ input: 'feedback', value: feedback('u', T0, kind, playlistId, trackId) })?.weight;
    expect([w('FOLLOW_PLAYLIST'), w('CLICK'), w('DISMISS'), w('UNFOLLOW_PLAYLIST')]).toEqual([3, 1, -2, -3]);
    expect([w('IMPRESSION'), w('SKIP'), w('UNKNOWN'), w('FORGET_USER', null), w('LIKE_TRACK', null, 't1'), w('UNLIKE_TRACK', 'p1', 't1')]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('the interaction windows topology', () => {
  it('emits each window with its sums once stream time reaches its end plus grace, not before, keyed by user', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 1_000, 'p1')); // play +1
    await t.listen(listen('ana', T0 + 2_000, 'p1', 10_000)); // skip -0.5
    await t.feedback(feedback('ana', T0 + 3_000, 'FOLLOW_PLAYLIST', 'p2')); // +3
    await t.feedback(feedback('ana', T0 + 4_000, 'CLICK', 'p1')); // +1
    await t.feedback(feedback('ana', T0 + 5_000, 'DISMISS', 'p3')); // -2
    await t.feedback(feedback('ana', T0 + 6_000, 'UNFOLLOW_PLAYLIST', 'p2')); // -3
    await t.listen(listen('ana', T0 + 7_000, null)); // no playlist: ignored
    await t.feedback(feedback('ana', T0 + 8_000, 'LIKE_TRACK', null, 't1')); // about a track: ignored
    await t.feedback(feedback('ana', T0 + 9_000, 'IMPRESSION', 'p1')); // ignored
    await t.feedback(feedback('ana', T0 + 9_500, 'SKIP', 'p1')); // counted from the short listen instead: ignored
    await t.feedback(feedback('ana', T0 + 9_900, 'UNKNOWN', 'p1')); // a newer writer's kind: ignored
    await t.listen(listen('bob', T0 + 59_999, 'p1', 200_000));
    await t.listen(listen('bob', T0 + W + G - 1, null)); // stream time one ms short of the close
    expect(await t.emitted()).toEqual([]);
    expect([...t.d.store(WINDOWS_STORE).keys()].sort()).toEqual([`ana@${T0}`, `bob@${T0}`]);

    await t.listen(listen('cid', T0 + W + G, 'p9')); // stream time reaches end + grace: both close
    expect(await t.emitted()).toEqual([
      { key: 'ana', value: { userId: 'ana', windowStart: T0, windowEnd: T0 + W, interactions: [
        { playlistId: 'p1', weight: 1.5, events: 3 },
        { playlistId: 'p2', weight: 0, events: 2 },
        { playlistId: 'p3', weight: -2, events: 1 },
      ] } },
      { key: 'bob', value: { userId: 'bob', windowStart: T0, windowEnd: T0 + W, interactions: [{ playlistId: 'p1', weight: 1, events: 1 }] } },
    ]);
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([`cid@${T0 + W}`]); // emitted windows are deleted
    expect(t.d.changelog(WINDOWS_STORE).filter((r) => r.value === null).map((r) => r.key).sort()).toEqual([`ana@${T0}`, `bob@${T0}`]);

    await t.listen(listen('cid', T0 + 3 * W + G, null)); // closes cid's window, and nothing twice
    expect((await t.emitted()).map((o) => `${o.key}@${o.value.windowStart}`)).toEqual([`ana@${T0}`, `bob@${T0}`, `cid@${T0 + W}`]);
    expect(t.late.n).toBe(0);
    expect(t.d.deadLetters()).toEqual([]);
  });

  it('counts events out of order within the grace period', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    await t.listen(listen('ana', T0 + W + 5_000, 'p1')); // the next window; stream time T0 + W + 5 s
    await t.feedback(feedback('ana', T0 + W - 1, 'CLICK', 'p1')); // back in the first window, 5 s after its end: within grace
    await t.listen(listen('ana', T0 + W + G - 1, 'p1', 1_000)); // the next window, a skip; the first one still open
    expect(await t.emitted()).toEqual([]);
    await t.listen(listen('bob', T0 + 2 * W + G, null));
    expect((await t.emitted()).map((o) => [o.value.windowStart, o.value.interactions])).toEqual([
      [T0, [{ playlistId: 'p1', weight: 2, events: 2 }]],
      [T0 + W, [{ playlistId: 'p1', weight: 0.5, events: 2 }]],
    ]);
    expect(t.late.n).toBe(0);
  });

  it('drops and counts an event whose window had closed; it does not reopen the window', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 1_000, 'p1'));
    await t.listen(listen('bob', T0 + W + G, null)); // ana's first window closes
    expect(await t.emitted()).toHaveLength(1);
    await t.feedback(feedback('ana', T0 + 2_000, 'FOLLOW_PLAYLIST', 'p2')); // late
    await t.listen(listen('ana', T0 + W - 1, 'p1')); // late too: the last ms of the closed window
    await t.listen(listen('ana', T0 + 500, null)); // late, but counts for no playlist: not counted as dropped
    expect(t.late.n).toBe(2);
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([]);
    await t.listen(listen('ana', T0 + W, 'p1')); // the first ms of the open window: counted
    expect(t.late.n).toBe(2);
    await t.listen(listen('bob', T0 + 5 * W, null));
    expect((await t.emitted()).map((o) => [o.key, o.value.windowStart, o.value.interactions])).toEqual([
      ['ana', T0, [{ playlistId: 'p1', weight: 1, events: 1 }]], // once, without the late follow
      ['ana', T0 + W, [{ playlistId: 'p1', weight: 1, events: 1 }]],
    ]);
  });

  it('keeps its open windows and its stream time across a restart (restored from the changelog)', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    await t.feedback(feedback('ana', T0 + 20, 'FOLLOW_PLAYLIST', 'p1'));
    await t.listen(listen('bob', T0 + W + 1_000, 'p2'));
    await t.d.restart();
    expect([...t.d.store(WINDOWS_STORE).keys()].sort()).toEqual([`ana@${T0}`, `bob@${T0 + W}`]);
    expect(t.streamTime()).toBe(T0 + W + 1_000);
    await t.feedback(feedback('ana', T0 + 30, 'CLICK', 'p1')); // within grace, after the restart
    await t.listen(listen('bob', T0 + W + G, null)); // closes ana's window
    await t.d.restart();
    // restored stream time: an event of the closed window is still late after a restart and reopens nothing
    await t.listen(listen('ana', T0 + 40, 'p1'));
    expect(t.late.n).toBe(1);
    await t.listen(listen('bob', T0 + 3 * W, null));
    expect((await t.emitted()).map((o) => [o.key, o.value.windowStart, o.value.interactions])).toEqual([
      ['ana', T0, [{ playlistId: 'p1', weight: 5, events: 3 }]],
      ['bob', T0 + W, [{ playlistId: 'p2', weight: 1, events: 1 }]],
    ]);
  });

  it('leaves no trace of a batch that fails at commit: the redone batch emits and counts once', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    t.d.failNextCommit();
    await expect(t.listen(listen('ana', T0 + 20, 'p1'))).rejects.toThrow(/injected commit failure/);
    expect(t.d.store(WINDOWS_STORE).get(`ana@${T0}`)?.interactions).toEqual([{ playlistId: 'p1', weight: 1, events: 1 }]);
    const closing = listen('bob', T0 + W + G, null);
    t.d.failNextCommit();
    await expect(t.listen(closing)).rejects.toThrow(/injected commit failure/);
    expect(await t.emitted()).toEqual([]);
    expect(t.streamTime()).toBe(T0 + 10); // the failed batches moved nothing
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([`ana@${T0}`]);
    await t.listen(listen('ana', T0 + 20, 'p1')); // redone
    await t.listen(closing); // redone
    expect((await t.emitted()).map((o) => o.value)).toEqual([
      { userId: 'ana', windowStart: T0, windowEnd: T0 + W, interactions: [{ playlistId: 'p1', weight: 2, events: 2 }] },
    ]);
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([]);
  });

  it('FORGET_USER deletes every open window of the user, unsent, and drops their events from before the forget', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    await t.listen(listen('bob', T0 + 20, 'p1'));
    await t.listen(listen('ana', T0 + W + 3_000, 'p2')); // ana has two open windows
    await t.feedback(feedback('ana', T0 + W + 5_000, 'FORGET_USER'));
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([`bob@${T0}`]);
    await t.listen(listen('ana', T0 + W + 4_000, 'p2')); // from before the forget, processed after it: dropped
    await t.listen(listen('ana', T0 + W + 6_000, 'p3')); // after the forget: counts
    await t.feedback(feedback('cid', T0 + W + 7_000, 'FORGET_USER')); // a user with nothing open: nothing happens to the others
    await t.listen(listen('bob', T0 + 3 * W + G, null));
    expect((await t.emitted()).map((o) => [o.key, o.value.windowStart, o.value.interactions])).toEqual([
      ['bob', T0, [{ playlistId: 'p1', weight: 1, events: 1 }]],
      ['ana', T0 + W, [{ playlistId: 'p3', weight: 1, events: 1 }]],
    ]);
    expect(t.late.n).toBe(0);
    // the forget markers go once their windows are closed: only the clock is left
    expect([...t.d.store(WINDOWS_META_STORE).keys()]).toEqual([STREAM_TIME_KEY]);
  });

  it('FORGET_USER whose time closes the user’s window deletes it rather than emitting it', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    await t.listen(listen('bob', T0 + 20, 'p1'));
    await t.feedback(feedback('ana', T0 + W + G, 'FORGET_USER')); // closes window 0: bob's goes out, ana's does not
    expect((await t.emitted()).map((o) => o.key)).toEqual(['bob']);
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([]);
    expect(t.streamTime()).toBe(T0 + W + G);
  });

  it('FORGET_USER finds the windows by scan when there are fewer open windows than the grace period spans', async () => {
    const t = windows({ windowMs: 1_000, graceMs: 50_000 }); // 51 windows can be open per user
    await t.listen(listen('ana', T0 + 100, 'p1'));
    await t.listen(listen('ana', T0 + 30_000, 'p1'));
    await t.listen(listen('bob', T0 + 40_000, 'p1'));
    await t.feedback(feedback('ana', T0 + 45_000, 'FORGET_USER'));
    expect([...t.d.store(WINDOWS_STORE).keys()]).toEqual([`bob@${T0 + 40_000}`]);
  });

  it('dead-letters invalid events with the reason, and they move nothing (not even stream time)', async () => {
    const t = windows();
    await t.listen(listen('ana', T0 + 10, 'p1'));
    await t.listen({ ...listen('ana', T0 + 20, 'p1'), eventId: 'bad-ms', msPlayed: -5 });
    await t.feedback({ ...feedback('ana', T0 + 30, 'FOLLOW_PLAYLIST', null), eventId: 'bad-follow' });
    await t.listen({ ...listen('ana', NOW + EVENT_RULES.maxFutureMs + 1, 'p1'), eventId: 'bad-time' }); // would close every window
    await t.listen({ ...listen('ana', T0 + 40, 'p1'), eventId: 'clamped', msPlayed: 200_500 }); // clamped, valid: a play
    expect(t.d.deadLetters().map((x) => [x.code, x.reason])).toEqual([
      ['VALIDATION', 'listen bad-ms: msPlayed -5 < 0'],
      ['VALIDATION', 'feedback bad-follow: FOLLOW_PLAYLIST without playlistId (null)'],
      ['VALIDATION', expect.stringMatching(/^listen bad-time: eventTime \d+ > now \+ maxFutureMs/)],
    ]);
    expect(t.streamTime()).toBe(T0 + 40);
    expect(await t.emitted()).toEqual([]);
    expect(t.d.store(WINDOWS_STORE).get(`ana@${T0}`)?.interactions).toEqual([{ playlistId: 'p1', weight: 2, events: 2 }]);
  });

  it('keeps stream time per task: events of one partition close no window of another', async () => {
    const t = windows({}, 2);
    await t.listen(listen('ana', T0 + 10, 'p1'), 0);
    await t.listen(listen('bob', T0 + 10, 'p1'), 1);
    await t.listen(listen('bob', T0 + 5 * W, null), 1);
    expect((await t.emitted()).map((o) => o.key)).toEqual(['bob']);
    expect(t.streamTime(0)).toBe(T0 + 10);
    await t.listen(listen('ana', T0 + 5 * W, null), 0);
    expect((await t.emitted()).map((o) => o.key)).toEqual(['bob', 'ana']);
  });

  it('holds one store entry per open (user, window) however long it runs', async () => {
    const t = windows();
    let most = 0;
    for (let i = 0; i < 600; i++) { // 10 hours of a play every minute from each of 3 users
      for (const u of ['ana', 'bob', 'cid']) await t.listen(listen(u, NOW - 1_000 * W + i * W + 500, `p${i % 4}`));
      most = Math.max(most, t.d.store(WINDOWS_STORE).size);
    }
    // ceil(G / W) + 1 = 2 windows per user at most: the previous one is open for the first 10 s of the next
    expect(most).toBe(6);
    expect(await t.emitted()).toHaveLength(3 * 598); // the last two windows of each are still open
    expect(t.d.deadLetters()).toEqual([]);
    expect(t.d.store(WINDOWS_META_STORE).size).toBe(1);
  });

  it('defaults to 1-hour windows with 5 minutes of grace and checks its options', () => {
    expect(DEFAULT_WINDOW_OPTIONS).toEqual({ windowMs: 3_600_000, graceMs: 300_000 });
    expect(() => windowsTopology({ applicationId: 'w', windowMs: 0 })).toThrow(/windowMs must be a positive integer/);
    expect(() => windowsTopology({ applicationId: 'w', windowMs: 1.5 })).toThrow(/windowMs/);
    expect(() => windowsTopology({ applicationId: 'w', graceMs: -1 })).toThrow(/graceMs must be an integer >= 0/);
    const topology = windowsTopology({ applicationId: 'w' });
    expect(topology.inputs).toEqual(['listens', 'feedback']);
    expect(topology.guarantee).toBe('exactly-once');
  });

  it('runs with the default options: a window of an hour closes 5 minutes after its end', async () => {
    const hour = 3_600_000;
    const start = Math.floor(NOW / hour) * hour - 5 * hour;
    const late = { n: 0 };
    const d = createTopologyTestDriver(windowsTopology({ applicationId: 'windows-default', now: () => NOW, onLate: (n) => { late.n += n; } }), { serde });
    await d.pipe('listens', 'ana', listen('ana', start + 1, 'p1'));
    await d.pipe('listens', 'ana', listen('ana', start + hour + 300_000 - 1, null));
    expect(await d.outputs('interactionWindows')).toEqual([]);
    await d.pipe('listens', 'ana', listen('ana', start + hour + 300_000, null));
    expect((await d.outputs('interactionWindows')).map((o) => [o.value.windowStart, o.value.windowEnd])).toEqual([[start, start + hour]]);
  });
});
