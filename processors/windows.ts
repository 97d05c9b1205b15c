/**
 * Interaction windows for the trainer: per user, tumbling event-time windows of their playlist interactions
 * (plays, skips, follows, clicks, dismissals), each written once to the interaction-window topic when it closes.
 * Kafka Streams' windowed aggregation with a grace period, on the stream runtime (`streams/`).
 */
import {
  storeSpec, type FeedbackEvent, type InteractionWindow, type KeyValueStore, type ListenEvent, type PlaylistInteraction, type StoreSpec,
  type TaskContext, type Topology,
} from '../streams/index.js';
import { validateFeedback, validateListen } from './validation.js';

export interface WindowsOptions {
  readonly applicationId: string;
  /** Window length (default 1 hour): windows are [k·windowMs, (k+1)·windowMs) in event time, epoch-aligned. */
  readonly windowMs?: number;
  /** How long after its end a window still takes events (default 5 minutes) before it is emitted and closed. */
  readonly graceMs?: number;
  /** Called with the number of events dropped because their window had closed (wire a prom-client Counter's inc). */
  readonly onLate?: (n: number) => void;
  /** The clock for validation's future-skew rule (default `Date.now`); the windows themselves run on event time. */
  readonly now?: () => number;
  /** Event times further ahead of `now` are clamped to it (default `EVENT_RULES.maxFutureSkewMs`, 1 h). */
  readonly maxFutureSkewMs?: number;
}

export const DEFAULT_WINDOW_OPTIONS = { windowMs: 3_600_000, graceMs: 300_000 } as const;

/** A listen played through: at least 30 s of it, or at least half the track (the live recommender's rule too). */
export const PLAYED_THROUGH = { minMs: 30_000, minFraction: 0.5 } as const;

/**
 * What each event adds to the weight of its (user, playlist) in its window. Only events with a playlist count:
 *
 * - `play`: a listen from a playlist context, played through ({@link PLAYED_THROUGH}): +1;
 * - `skip`: a listen from a playlist context that was not played through: -0.5. Skips are counted from these
 *   short listens, which players send for every skipped play; a SKIP feedback event is ignored, so that a skip
 *   is not counted twice;
 * - FOLLOW_PLAYLIST +3, CLICK +1, DISMISS -2, UNFOLLOW_PLAYLIST -3.
 *
 * Everything else is ignored: listens without a playlist, LIKE_TRACK and UNLIKE_TRACK (about tracks), IMPRESSION
 * (shown, not chosen), SKIP (see above), UNKNOWN (a newer writer's kind). FORGET_USER is not an interaction: it
 * deletes the user's open windows (see {@link windowsTopology}).
 */
export const INTERACTION_WEIGHTS = {
  play: 1,
  skip: -0.5,
  FOLLOW_PLAYLIST: 3,
  CLICK: 1,
  DISMISS: -2,
  UNFOLLOW_PLAYLIST: -3,
} as const;

/** A validated input event, tagged with its input. */
export type WindowEvent = { readonly input: 'listens'; readonly value: ListenEvent } | { readonly input: 'feedback'; readonly value: FeedbackEvent };

/** The playlist an event counts for and its weight ({@link INTERACTION_WEIGHTS}), or undefined when it counts for none. */
export function interactionOf(e: WindowEvent): { readonly playlistId: string; readonly weight: number } | undefined {
  if (e.input === 'listens') {
    const l = e.value;
    if (l.playlistId === null || l.playlistId === '') return undefined;
    const through = l.msPlayed >= PLAYED_THROUGH.minMs || l.msPlayed >= PLAYED_THROUGH.minFraction * l.trackDurationMs;
    return { playlistId: l.playlistId, weight: through ? INTERACTION_WEIGHTS.play : INTERACTION_WEIGHTS.skip };
  }
  const f = e.value;
  if (f.playlistId === null || f.playlistId === '') return undefined;
  switch (f.kind) {
    case 'FOLLOW_PLAYLIST':
    case 'CLICK':
    case 'DISMISS':
    case 'UNFOLLOW_PLAYLIST':
      return { playlistId: f.playlistId, weight: INTERACTION_WEIGHTS[f.kind] };
    default:
      return undefined;
  }
}

/** One open window of one user: the value of {@link WINDOWS_STORE}, keyed `<userId>@<windowStart>`. */
export interface OpenWindow {
  readonly userId: string;
  readonly windowStart: number;
  /** Per playlist, in the order first seen (sorted by playlist id when emitted). */
  readonly interactions: readonly PlaylistInteraction[];
}

/**
 * The open windows of a task, one entry per open (user, window), deleted when the window is emitted. The store is
 * bounded by the users of the task times the windows that can be open at once per user: those whose end plus grace
 * is past the task's stream time, at most ceil(graceMs / windowMs) + 1 (2 with the defaults).
 */
export const WINDOWS_STORE: StoreSpec<OpenWindow> = storeSpec<OpenWindow>('interaction-windows');

/**
 * A task's clock and its forget markers: key {@link STREAM_TIME_KEY}, the task's event-time stream time; key
 * `forgotten/<userId>`, the event time of that user's last FORGET_USER, kept only while a window it covers can
 * still be open. One entry plus one per user forgotten within the last window and grace.
 */
export const WINDOWS_META_STORE: StoreSpec<number> = storeSpec<number>('interaction-windows-meta');

/** The key of the task's event-time stream time in {@link WINDOWS_META_STORE}. */
export const STREAM_TIME_KEY = '#stream-time';
const FORGOTTEN = 'forgotten/';

const windowKey = (userId: string, windowStart: number) => `${userId}@${windowStart}`;

/** The window as written to the interaction-window topic: interactions sorted by playlist id. */
function emitted(w: OpenWindow, windowMs: number): InteractionWindow {
  const interactions = [...w.interactions].sort((a, b) => (a.playlistId < b.playlistId ? -1 : a.playlistId > b.playlistId ? 1 : 0));
  return { userId: w.userId, windowStart: w.windowStart, windowEnd: w.windowStart + windowMs, interactions };
}

/**
 * One exactly-once application over listens and feedback (co-partitioned by user, so a user's events meet in one
 * task) that adds each event's interaction ({@link interactionOf}) to its user's tumbling window
 * [floor(t / windowMs) · windowMs, + windowMs) of its event time t, and writes each window to `interactionWindows`,
 * keyed by user, once, when it closes; then deletes it.
 *
 * - **Validation.** Each event is validated first ({@link validateListen}, {@link validateFeedback}); an invalid
 *   one throws a ValidationError, and the runtime dead-letters it with the reason. A listen is used as clamped.
 * - **Stream time** is the task's event time: the largest event time of the valid events it has processed, as
 *   Kafka Streams' stream time with a timestamp extractor that reads `eventTime`. It is kept in
 *   {@link WINDOWS_META_STORE}, so a restarted task resumes with it. (The runtime's `ctx.streamTime` is not used:
 *   it follows the records' Kafka timestamps, which producers set to the time of sending, not of the event, and it
 *   starts again from 0 when a task is rebuilt, which would let a late event reopen a window already emitted.)
 * - **Closing.** A window closes when stream time reaches its end plus `graceMs`: it is emitted and deleted in the
 *   batch of the event that moved stream time there, in that batch's transaction. Stream time moves only when
 *   an event is processed, so closing is checked there, and only when stream time crosses a closing point (an end
 *   plus grace): the search for due windows goes over the task's open windows (O(open windows)), about once per
 *   `windowMs` of event time per task. A task whose partition receives nothing keeps its windows open until an
 *   event arrives, as in Kafka Streams.
 * - **Late events.** An event whose window had closed (end + grace <= stream time) is dropped and counted through
 *   `onLate`; it never reopens the window. Events out of order within the grace period count as any other.
 * - **Forgetting.** FORGET_USER deletes every open window of its user, unsent, and for the rest of the grace period
 *   drops the user's events from before the forget (the two inputs are not merged by time, so a listen from before
 *   the forget may be processed after it); the user's events after the forget count again.
 */
export function windowsTopology(opts: WindowsOptions): Topology<'listens' | 'feedback'> {
  const windowMs = opts.windowMs ?? DEFAULT_WINDOW_OPTIONS.windowMs;
  const graceMs = opts.graceMs ?? DEFAULT_WINDOW_OPTIONS.graceMs;
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer (ms), not ${windowMs}`);
  if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be an integer >= 0 (ms), not ${graceMs}`);
  const now = opts.now ?? Date.now;
  const onLate = opts.onLate ?? (() => {});
  const startOf = (t: number) => Math.floor(t / windowMs) * windowMs;
  /** The largest window end that is closed at stream time `st`: windows ending at or before it are closed. */
  const closedThrough = (st: number | undefined) => (st === undefined ? Number.NEGATIVE_INFINITY : startOf(st - graceMs));

  /** Emits and deletes every window ending at or before `through`; drops the forget markers that no longer matter. */
  function closeWindows(ctx: TaskContext, windows: KeyValueStore<OpenWindow>, meta: KeyValueStore<number>, through: number): void {
    const due: Array<[string, OpenWindow]> = [];
    for (const [key, w] of windows.entries()) if (w.windowStart + windowMs <= through) due.push([key, w]);
    due.sort(([, a], [, b]) => a.windowStart - b.windowStart || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    for (const [key, w] of due) {
      ctx.forward('interactionWindows', { key: w.userId, value: emitted(w, windowMs) });
      windows.delete(key);
    }
    const stale: string[] = [];
    for (const [key, at] of meta.entries()) if (key.startsWith(FORGOTTEN) && startOf(at) + windowMs <= through) stale.push(key);
    for (const key of stale) meta.delete(key);
  }

  /** Deletes the open windows of `userId`: those that can be open at stream time `st`, or a scan when that is fewer. */
  function forget(windows: KeyValueStore<OpenWindow>, userId: string, st: number | undefined): void {
    if (st === undefined) return; // nothing was ever processed: nothing is open
    const first = closedThrough(st);
    const last = startOf(st);
    if ((last - first) / windowMs + 1 <= windows.size) {
      for (let s = first; s <= last; s += windowMs) if (windows.get(windowKey(userId, s)) !== undefined) windows.delete(windowKey(userId, s));
    } else {
      const keys: string[] = [];
      for (const [key, w] of windows.entries()) if (w.userId === userId) keys.push(key);
      for (const key of keys) windows.delete(key);
    }
  }

  function handle(ctx: TaskContext, e: WindowEvent): void {
    const windows = ctx.store(WINDOWS_STORE);
    const meta = ctx.store(WINDOWS_META_STORE);
    const { userId, eventTime } = e.value;
    const before = meta.get(STREAM_TIME_KEY);
    const forgetting = e.input === 'feedback' && e.value.kind === 'FORGET_USER';
    if (forgetting) forget(windows, userId, before); // first: none of the user's windows is emitted after the forget
    const streamTime = before === undefined ? eventTime : Math.max(before, eventTime);
    if (streamTime !== before) {
      meta.put(STREAM_TIME_KEY, streamTime);
      const through = closedThrough(streamTime);
      if (through > closedThrough(before)) closeWindows(ctx, windows, meta, through);
    }
    const forgottenKey = FORGOTTEN + userId;
    if (forgetting) {
      ctx.tombstone('interactionWindows', userId); // the latest record of the key: gone (older windows age out with retention)
      const prev = meta.get(forgottenKey);
      // only while a window holding events from before the forget can still be open
      if (startOf(eventTime) + windowMs > closedThrough(streamTime) && (prev === undefined || prev < eventTime)) meta.put(forgottenKey, eventTime);
      return;
    }
    const interaction = interactionOf(e);
    if (!interaction) return;
    const forgottenAt = meta.get(forgottenKey);
    if (forgottenAt !== undefined && eventTime <= forgottenAt) return; // from before the user asked to be forgotten
    const windowStart = startOf(eventTime);
    if (windowStart + windowMs <= closedThrough(streamTime)) {
      onLate(1); // its window was emitted already: it must not reopen it
      return;
    }
    const key = windowKey(userId, windowStart);
    const open = windows.get(key);
    // a new value rather than a mutation: the store's savepoints keep the previous object as it was
    const interactions = [...(open?.interactions ?? [])];
    const i = interactions.findIndex((x) => x.playlistId === interaction.playlistId);
    const prev = i < 0 ? undefined : interactions[i]!;
    const next = { playlistId: interaction.playlistId, weight: (prev?.weight ?? 0) + interaction.weight, events: (prev?.events ?? 0) + 1 };
    if (i < 0) interactions.push(next);
    else interactions[i] = next;
    windows.put(key, { userId, windowStart, interactions });
  }

  return {
    applicationId: opts.applicationId,
    inputs: ['listens', 'feedback'],
    stores: [WINDOWS_STORE, WINDOWS_META_STORE],
    guarantee: 'exactly-once',
    processor: () => ({
      process(record, ctx) {
        if (record.input === 'listens') handle(ctx, { input: 'listens', value: validateListen(record.value, now(), opts.maxFutureSkewMs) });
        else handle(ctx, { input: 'feedback', value: validateFeedback(record.value, now(), opts.maxFutureSkewMs) });
      },
    }),
  };
}
