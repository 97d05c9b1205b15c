/**
 * Checks on event values, shared by every processor: what the Avro schemas cannot say (a duration is positive,
 * an event is not from next week, a follow names its playlist). A processor validates each event first and lets
 * the {@link ValidationError} propagate: the stream runtime sends the record to the dead-letter topic with the
 * message as its reason (`dlq.reason.code` VALIDATION) and goes on with the partition.
 */
import { ValidationError, type FeedbackEvent, type FeedbackKind, type ListenEvent } from '../streams/index.js';

export const EVENT_RULES = {
  /**
   * How far past the processor's clock an event time may lie as it is (1 hour): devices' clocks drift and events
   * are stamped where they happen. An event from further ahead is a fast clock (a device's, or a simulation's that
   * runs faster than real time): its time is clamped to the processor's clock, as analytics pipelines clamp such
   * events to their time of receipt. Left as it is, it would move stream time forward, closing every open window of
   * its task early, and decay every other event of its user.
   */
  maxFutureSkewMs: 3_600_000,
  /**
   * Beyond this far ahead (366 days) an event time is not a fast clock but a broken timestamp (microseconds for
   * milliseconds, garbage): the event is dead-lettered.
   */
  maxFutureMs: 366 * 24 * 3_600_000,
  /** The longest track a listen may report (24 hours): a longer duration is a unit error (µs for ms) or garbage. */
  maxTrackDurationMs: 24 * 3_600_000,
} as const;

/** Feedback kinds about a playlist: they must name it. */
const PLAYLIST_KINDS: ReadonlySet<FeedbackKind> = new Set(['FOLLOW_PLAYLIST', 'UNFOLLOW_PLAYLIST', 'DISMISS', 'CLICK', 'IMPRESSION']);
/** Feedback kinds about a track: they must name it. */
const TRACK_KINDS: ReadonlySet<FeedbackKind> = new Set(['LIKE_TRACK', 'UNLIKE_TRACK']);

function invalid(what: string, eventId: string, field: string, message: string): ValidationError {
  return new ValidationError(`${what} ${eventId === '' ? '(no eventId)' : eventId}: ${message}`, { eventId, field });
}

/**
 * The checks common to both kinds of event: ids present, event time after the epoch and not absurdly far ahead.
 * Returns the event time to use (clamped to `now` when it is more than `maxFutureSkewMs` ahead).
 */
function validateCommon(what: string, e: { readonly eventId: string; readonly userId: string; readonly eventTime: number }, now: number, maxFutureSkewMs: number): number {
  if (e.eventId === '') throw invalid(what, e.eventId, 'eventId', "eventId '' is empty");
  if (e.userId === '') throw invalid(what, e.eventId, 'userId', "userId '' is empty");
  if (!Number.isFinite(e.eventTime)) throw invalid(what, e.eventId, 'eventTime', `eventTime ${e.eventTime} is not a finite number`);
  if (e.eventTime < 0) throw invalid(what, e.eventId, 'eventTime', `eventTime ${e.eventTime} < 0 (before the epoch)`);
  const broken = now + EVENT_RULES.maxFutureMs;
  if (e.eventTime > broken) {
    throw invalid(what, e.eventId, 'eventTime', `eventTime ${e.eventTime} > now + maxFutureMs (${broken}): ${new Date(e.eventTime).toISOString()} is more than a year ahead`);
  }
  return e.eventTime > now + maxFutureSkewMs ? now : e.eventTime;
}

/**
 * A listen as processors may use it, or a {@link ValidationError} naming the field and its value
 * (e.g. `listen e1: msPlayed -5 < 0`). The rules:
 *
 * - `eventId` and `userId` are not empty;
 * - `eventTime` is finite, not before the epoch (< 0), and at most `now + EVENT_RULES.maxFutureMs` (a year); more
 *   than `EVENT_RULES.maxFutureSkewMs` (an hour) ahead, it is clamped to `now`;
 * - `trackDurationMs` is finite, > 0 and at most `EVENT_RULES.maxTrackDurationMs`;
 * - `msPlayed` is finite and >= 0;
 * - `msPlayed` above `trackDurationMs` is clamped to `trackDurationMs`, not rejected: players report a little
 *   past the end (the last progress tick, a seek), and the play is still a whole play. The event returned is then
 *   a new object; otherwise it is `e` itself.
 *
 * `now` is the processor's clock (epoch ms), for the future-skew rule; `maxFutureSkewMs` its limit
 * (`BUDDIES_MAX_CLOCK_SKEW_MS`; a compressed-time test sets it near 0 so every simulated time is clamped to receipt).
 */
export function validateListen(e: ListenEvent, now: number, maxFutureSkewMs: number = EVENT_RULES.maxFutureSkewMs): ListenEvent {
  const eventTime = validateCommon('listen', e, now, maxFutureSkewMs);
  const d = e.trackDurationMs;
  if (!Number.isFinite(d)) throw invalid('listen', e.eventId, 'trackDurationMs', `trackDurationMs ${d} is not a finite number`);
  if (d <= 0) throw invalid('listen', e.eventId, 'trackDurationMs', `trackDurationMs ${d} <= 0`);
  if (d > EVENT_RULES.maxTrackDurationMs) throw invalid('listen', e.eventId, 'trackDurationMs', `trackDurationMs ${d} > maxTrackDurationMs (${EVENT_RULES.maxTrackDurationMs})`);
  const played = e.msPlayed;
  if (!Number.isFinite(played)) throw invalid('listen', e.eventId, 'msPlayed', `msPlayed ${played} is not a finite number`);
  if (played < 0) throw invalid('listen', e.eventId, 'msPlayed', `msPlayed ${played} < 0`);
  if (played <= d && eventTime === e.eventTime) return e;
  return { ...e, msPlayed: Math.min(played, d), eventTime };
}

/**
 * A feedback event as processors may use it (`e` itself), or a {@link ValidationError} naming the field and its
 * value. The rules:
 *
 * - `eventId` and `userId` are not empty; `eventTime` as for listens (finite, >= 0, at most a year ahead, clamped
 *   to `now` when more than an hour ahead: then the event returned is a new object);
 * - FOLLOW_PLAYLIST, UNFOLLOW_PLAYLIST, DISMISS, CLICK and IMPRESSION name a `playlistId` (not null, not empty);
 * - LIKE_TRACK and UNLIKE_TRACK name a `trackId` (not null, not empty);
 * - SKIP, FORGET_USER (it needs only the user) and UNKNOWN (a symbol from a newer writer: valid, and processors
 *   ignore it) need nothing more.
 */
export function validateFeedback(e: FeedbackEvent, now: number, maxFutureSkewMs: number = EVENT_RULES.maxFutureSkewMs): FeedbackEvent {
  const eventTime = validateCommon('feedback', e, now, maxFutureSkewMs);
  if (PLAYLIST_KINDS.has(e.kind) && (e.playlistId === null || e.playlistId === '')) {
    throw invalid('feedback', e.eventId, 'playlistId', `${e.kind} without playlistId (${e.playlistId === null ? 'null' : "''"})`);
  }
  if (TRACK_KINDS.has(e.kind) && (e.trackId === null || e.trackId === '')) {
    throw invalid('feedback', e.eventId, 'trackId', `${e.kind} without trackId (${e.trackId === null ? 'null' : "''"})`);
  }
  return eventTime === e.eventTime ? e : { ...e, eventTime };
}
