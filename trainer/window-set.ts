import type { InteractionWindow } from '../streams/index.js';

/** Bounds of a {@link WindowSet}. */
export interface WindowSetOptions {
  /** Event-time horizon: a window is kept while its end is within `horizonMs` of the latest window end seen. */
  readonly horizonMs: number;
  /** At most this many (window, playlist) interactions are held; past it the oldest windows are evicted. */
  readonly maxInteractions: number;
}

/** How many windows left the set, and why. */
export interface Evictions {
  readonly horizon: number;
  readonly cap: number;
}

export interface WindowSetStats {
  readonly windows: number;
  /** (window, playlist) entries: what `maxInteractions` bounds. */
  readonly interactions: number;
  readonly users: number;
  readonly playlists: number;
  /** The latest window end seen (epoch ms), or null before the first window. */
  readonly latestEnd: number | null;
}

/** The persisted form of a set (see {@link WindowSet.toJSON}). */
export interface WindowSetJson {
  readonly latestEnd: number | null;
  /** Oldest first (the eviction order). */
  readonly windows: readonly InteractionWindow[];
}

/**
 * The trainer's sliding training set: the interaction windows of the last `horizonMs` of event time, at most
 * `maxInteractions` interactions. Pure and synchronous; the trainer feeds it from the interaction-window topic
 * in partition order.
 *
 * - `add` keeps one window per (user, windowStart): a window delivered again replaces itself (a replay from an
 *   older offset is harmless).
 * - A window is evicted when its end falls `horizonMs` or more behind the latest end seen (event time, so a
 *   replay of old data evicts the same way as live data), and a window that arrives already that old is not kept.
 * - Past `maxInteractions`, the oldest windows (smallest windowStart, then first added) go first, so memory is
 *   bounded whatever the horizon.
 * - `forget(userId)` (a tombstone on the topic: the user asked to be forgotten) drops every window of the user.
 */
export interface WindowSet {
  readonly options: WindowSetOptions;
  add(w: InteractionWindow): Evictions;
  forget(userId: string): number;
  stats(): WindowSetStats;
  /** Every window held, oldest first (by windowStart, then the order added). */
  windows(): InteractionWindow[];
  toJSON(): WindowSetJson;
}

export class WindowSetOptionsError extends RangeError {
  override readonly name = 'WindowSetOptionsError';
}

export function createWindowSet(options: WindowSetOptions, restored?: WindowSetJson): WindowSet {
  const { horizonMs, maxInteractions } = options;
  if (!Number.isSafeInteger(horizonMs) || horizonMs <= 0) throw new WindowSetOptionsError(`horizonMs must be a positive integer (ms), not ${horizonMs}`);
  if (!Number.isSafeInteger(maxInteractions) || maxInteractions < 1) throw new WindowSetOptionsError(`maxInteractions must be a positive integer, not ${maxInteractions}`);
  // buckets by windowStart, each a Map userId → window in the order added; starts kept sorted (few: horizon / window length)
  const buckets = new Map<number, Map<string, InteractionWindow>>();
  let starts: number[] = [];
  const userRefs = new Map<string, number>();
  const playlistRefs = new Map<string, number>();
  let windows = 0;
  let interactions = 0;
  let latestEnd: number | null = null;

  const ref = (m: Map<string, number>, k: string, d: number) => {
    const n = (m.get(k) ?? 0) + d;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  };
  const count = (w: InteractionWindow, d: 1 | -1) => {
    windows += d;
    interactions += d * w.interactions.length;
    ref(userRefs, w.userId, d);
    for (const i of w.interactions) ref(playlistRefs, i.playlistId, d);
  };
  const remove = (start: number, userId: string): void => {
    const b = buckets.get(start);
    const w = b?.get(userId);
    if (!b || !w) return;
    b.delete(userId);
    count(w, -1);
    if (b.size === 0) {
      buckets.delete(start);
      starts = starts.filter((s) => s !== start);
    }
  };
  const tooOld = (w: InteractionWindow) => latestEnd !== null && w.windowEnd <= latestEnd - horizonMs;

  function evict(): Evictions {
    let horizon = 0;
    let cap = 0;
    while (starts.length > 0) {
      const b = buckets.get(starts[0]!)!;
      const first = b.values().next().value!;
      if (tooOld(first)) horizon++;
      else if (interactions > maxInteractions) cap++;
      else break;
      remove(first.windowStart, first.userId);
    }
    return { horizon, cap };
  }

  function add(w: InteractionWindow): Evictions {
    if (tooOld(w)) return { horizon: 1, cap: 0 };
    remove(w.windowStart, w.userId);
    let b = buckets.get(w.windowStart);
    if (!b) {
      b = new Map();
      buckets.set(w.windowStart, b);
      starts.push(w.windowStart);
      if (starts.length > 1 && starts[starts.length - 2]! > w.windowStart) starts.sort((x, y) => x - y);
    }
    const kept: InteractionWindow = { userId: w.userId, windowStart: w.windowStart, windowEnd: w.windowEnd, interactions: w.interactions.map((i) => ({ ...i })) };
    b.set(w.userId, kept);
    count(kept, 1);
    if (latestEnd === null || w.windowEnd > latestEnd) latestEnd = w.windowEnd;
    return evict();
  }

  const set: WindowSet = {
    options,
    add,
    forget(userId) {
      let n = 0;
      for (const start of [...starts]) {
        if (buckets.get(start)?.has(userId)) {
          remove(start, userId);
          n++;
        }
      }
      return n;
    },
    stats: () => ({ windows, interactions, users: userRefs.size, playlists: playlistRefs.size, latestEnd }),
    windows: () => starts.flatMap((s) => [...buckets.get(s)!.values()]),
    toJSON: () => ({ latestEnd, windows: set.windows() }),
  };
  if (restored) {
    for (const w of restored.windows) add(w);
    if (restored.latestEnd !== null && (latestEnd === null || restored.latestEnd > latestEnd)) {
      latestEnd = restored.latestEnd;
      evict();
    }
  }
  return set;
}
