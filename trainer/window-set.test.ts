import { describe, expect, it } from 'vitest';
import type { InteractionWindow } from '../streams/index.js';
import { createWindowSet } from './window-set.js';

const H = 3_600_000;
const win = (userId: string, k: number, playlists: readonly string[], weight = 1): InteractionWindow => ({
  userId, windowStart: k * H, windowEnd: (k + 1) * H, interactions: playlists.map((playlistId) => ({ playlistId, weight, events: 1 })),
});

describe('the sliding training set (issue 10)', () => {
  it('counts windows, interactions, users and playlists, and replaces a window delivered again', () => {
    const s = createWindowSet({ horizonMs: 10 * H, maxInteractions: 100 });
    s.add(win('u1', 0, ['a', 'b']));
    s.add(win('u2', 0, ['b']));
    s.add(win('u1', 1, ['c']));
    expect(s.stats()).toEqual({ windows: 3, interactions: 4, users: 2, playlists: 3, latestEnd: 2 * H });
    s.add(win('u1', 0, ['a'])); // the same (user, window) again: replaces, no double count
    expect(s.stats()).toMatchObject({ windows: 3, interactions: 3, playlists: 3 });
    expect(s.windows().map((w) => `${w.userId}@${w.windowStart / H}`)).toEqual(['u2@0', 'u1@0', 'u1@1']);
  });

  it('evicts windows that fall behind the horizon of event time, and refuses ones that arrive that old', () => {
    const s = createWindowSet({ horizonMs: 3 * H, maxInteractions: 100 });
    s.add(win('u1', 0, ['a']));
    s.add(win('u2', 1, ['b']));
    expect(s.add(win('u1', 3, ['c']))).toEqual({ horizon: 1, cap: 0 }); // end 4H: the window ending at 1H is 3H behind
    expect(s.windows().map((w) => w.windowStart / H)).toEqual([1, 3]);
    expect(s.add(win('u3', 0, ['z']))).toEqual({ horizon: 1, cap: 0 }); // late and too old: not kept
    expect(s.stats()).toMatchObject({ windows: 2, users: 2, playlists: 2 });
  });

  it('keeps memory bounded: past maxInteractions the oldest windows go first, whatever the horizon', () => {
    const s = createWindowSet({ horizonMs: 1000 * H, maxInteractions: 5 });
    s.add(win('u1', 0, ['a', 'b']));
    s.add(win('u2', 0, ['c']));
    s.add(win('u1', 1, ['d', 'e']));
    expect(s.add(win('u3', 2, ['f', 'g']))).toEqual({ horizon: 0, cap: 1 }); // 7 > 5: u1@0 (2 interactions) goes
    expect(s.stats()).toMatchObject({ windows: 3, interactions: 5 });
    expect(s.windows().map((w) => `${w.userId}@${w.windowStart / H}`)).toEqual(['u2@0', 'u1@1', 'u3@2']);
    // 7 again: u2@0, then the first added of the windows starting at 1H (u1@1) go; the newcomer u4@1 stays
    expect(s.add(win('u4', 1, ['h', 'i']))).toEqual({ horizon: 0, cap: 2 });
    expect(s.windows().map((w) => `${w.userId}@${w.windowStart / H}`)).toEqual(['u4@1', 'u3@2']);
    expect(s.stats().interactions).toBeLessThanOrEqual(5);
  });

  it('forgets a user: every window of theirs goes (a tombstone on the topic)', () => {
    const s = createWindowSet({ horizonMs: 10 * H, maxInteractions: 100 });
    s.add(win('u1', 0, ['a']));
    s.add(win('u2', 0, ['a']));
    s.add(win('u1', 1, ['b']));
    expect(s.forget('u1')).toBe(2);
    expect(s.stats()).toMatchObject({ windows: 1, users: 1, playlists: 1 });
    expect(s.forget('nobody')).toBe(0);
  });

  it('comes back whole from its JSON (window-set.json), with the same eviction point', () => {
    const s = createWindowSet({ horizonMs: 2 * H, maxInteractions: 100 });
    s.add(win('u1', 0, ['a']));
    s.add(win('u2', 1, ['b', 'c']));
    const back = createWindowSet(s.options, JSON.parse(JSON.stringify(s.toJSON())));
    expect(back.stats()).toEqual(s.stats());
    expect(back.windows()).toEqual(s.windows());
    expect(back.add(win('u3', 2, ['d']))).toEqual(s.add(win('u3', 2, ['d'])));
  });

  it('rejects bad bounds at once', () => {
    expect(() => createWindowSet({ horizonMs: 0, maxInteractions: 1 })).toThrow(/horizonMs/);
    expect(() => createWindowSet({ horizonMs: 1, maxInteractions: 0 })).toThrow(/maxInteractions/);
  });
});
