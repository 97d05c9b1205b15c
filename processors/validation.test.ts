import { describe, expect, it } from 'vitest';
import { ValidationError, type FeedbackEvent, type FeedbackKind, type ListenEvent } from '../streams/index.js';
import { EVENT_RULES, validateFeedback, validateListen } from './validation.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

const listen = (over: Partial<ListenEvent> = {}): ListenEvent => ({
  eventId: 'e1', userId: 'u1', trackId: 't1', playlistId: 'p1', source: 'ORGANIC_PLAYLIST', msPlayed: 120_000, trackDurationMs: 200_000,
  eventTime: NOW - 60_000, recommendationId: null, ...over,
});

const feedback = (over: Partial<FeedbackEvent> = {}): FeedbackEvent => ({
  eventId: 'f1', userId: 'u1', kind: 'FOLLOW_PLAYLIST', trackId: null, playlistId: 'p1', recommendationId: null, position: null,
  eventTime: NOW - 60_000, ...over,
});

/** The ValidationError `f` throws (failing the test if it throws nothing or something else). */
function rejection(f: () => unknown): ValidationError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('validateListen', () => {
  it('returns a valid listen as it is', () => {
    const e = listen();
    expect(validateListen(e, NOW)).toBe(e);
    const whole = listen({ msPlayed: 200_000 }); // exactly the duration: not clamped
    expect(validateListen(whole, NOW)).toBe(whole);
    expect(validateListen(listen({ msPlayed: 0 }), NOW).msPlayed).toBe(0);
  });

  it('clamps msPlayed past the end of the track to its duration, in a new object', () => {
    const e = listen({ msPlayed: 203_500 });
    const v = validateListen(e, NOW);
    expect(v).toEqual({ ...e, msPlayed: 200_000 });
    expect(v).not.toBe(e);
    expect(e.msPlayed).toBe(203_500); // the input is left alone
  });

  it('rejects a negative or non-finite msPlayed, naming field and value', () => {
    const err = rejection(() => validateListen(listen({ msPlayed: -5 }), NOW));
    expect(err.message).toBe('listen e1: msPlayed -5 < 0');
    expect(err.code).toBe('VALIDATION');
    expect(err.retriable).toBe(false);
    expect(err.context).toEqual({ eventId: 'e1', field: 'msPlayed' });
    expect(rejection(() => validateListen(listen({ msPlayed: Number.NaN }), NOW)).message).toBe('listen e1: msPlayed NaN is not a finite number');
  });

  it('rejects a track duration that is not positive, not finite or over the maximum', () => {
    expect(rejection(() => validateListen(listen({ trackDurationMs: 0 }), NOW)).message).toBe('listen e1: trackDurationMs 0 <= 0');
    expect(rejection(() => validateListen(listen({ trackDurationMs: -200 }), NOW)).message).toBe('listen e1: trackDurationMs -200 <= 0');
    expect(rejection(() => validateListen(listen({ trackDurationMs: Number.POSITIVE_INFINITY }), NOW)).message).toBe('listen e1: trackDurationMs Infinity is not a finite number');
    const over = EVENT_RULES.maxTrackDurationMs + 1;
    expect(rejection(() => validateListen(listen({ trackDurationMs: over, msPlayed: 0 }), NOW)).message).toBe(`listen e1: trackDurationMs ${over} > maxTrackDurationMs (86400000)`);
    const longest = listen({ trackDurationMs: EVENT_RULES.maxTrackDurationMs });
    expect(validateListen(longest, NOW)).toBe(longest); // the maximum itself is allowed
  });

  it('rejects an event time before the epoch or more than a year ahead, and clamps one more than an hour ahead to now', () => {
    expect(rejection(() => validateListen(listen({ eventTime: -1 }), NOW)).message).toBe('listen e1: eventTime -1 < 0 (before the epoch)');
    const broken = NOW + EVENT_RULES.maxFutureMs + 1;
    const err = rejection(() => validateListen(listen({ eventTime: broken }), NOW));
    expect(err.message).toMatch(new RegExp(`^listen e1: eventTime ${broken} > now \\+ maxFutureMs \\(${NOW + EVENT_RULES.maxFutureMs}\\)`));
    expect(err.context).toEqual({ eventId: 'e1', field: 'eventTime' });
    const edge = listen({ eventTime: NOW + EVENT_RULES.maxFutureSkewMs }); // an hour ahead exactly: as it is
    expect(validateListen(edge, NOW)).toBe(edge);
    const fast = listen({ eventTime: NOW + EVENT_RULES.maxFutureSkewMs + 1 }); // a fast clock: clamped, a new object
    const clamped = validateListen(fast, NOW);
    expect(clamped).toEqual({ ...fast, eventTime: NOW });
    expect(fast.eventTime).toBe(NOW + EVENT_RULES.maxFutureSkewMs + 1);
    expect(validateListen(listen({ eventTime: NOW + EVENT_RULES.maxFutureMs }), NOW).eventTime).toBe(NOW);
    expect(validateListen(listen({ eventTime: 0 }), NOW).eventTime).toBe(0);
  });

  it('rejects an empty userId or eventId', () => {
    expect(rejection(() => validateListen(listen({ userId: '' }), NOW)).message).toBe("listen e1: userId '' is empty");
    expect(rejection(() => validateListen(listen({ eventId: '' }), NOW)).message).toBe("listen (no eventId): eventId '' is empty");
  });

  it('accepts a listen without a playlist context', () => {
    const e = listen({ playlistId: null, source: 'LIBRARY' });
    expect(validateListen(e, NOW)).toBe(e);
  });
});

describe('validateFeedback', () => {
  it('requires a playlistId of the kinds about a playlist', () => {
    for (const kind of ['FOLLOW_PLAYLIST', 'UNFOLLOW_PLAYLIST', 'DISMISS', 'CLICK', 'IMPRESSION'] as const) {
      const ok = feedback({ kind });
      expect(validateFeedback(ok, NOW)).toBe(ok);
      expect(rejection(() => validateFeedback(feedback({ kind, playlistId: null }), NOW)).message).toBe(`feedback f1: ${kind} without playlistId (null)`);
      const err = rejection(() => validateFeedback(feedback({ kind, playlistId: '' }), NOW));
      expect(err.message).toBe(`feedback f1: ${kind} without playlistId ('')`);
      expect(err.context).toEqual({ eventId: 'f1', field: 'playlistId' });
    }
  });

  it('requires a trackId of the kinds about a track', () => {
    for (const kind of ['LIKE_TRACK', 'UNLIKE_TRACK'] as const) {
      const ok = feedback({ kind, trackId: 't1', playlistId: null });
      expect(validateFeedback(ok, NOW)).toBe(ok);
      expect(rejection(() => validateFeedback(feedback({ kind, trackId: null, playlistId: 'p1' }), NOW)).message).toBe(`feedback f1: ${kind} without trackId (null)`);
      expect(rejection(() => validateFeedback(feedback({ kind, trackId: '' }), NOW)).message).toBe(`feedback f1: ${kind} without trackId ('')`);
    }
  });

  it('needs nothing but the user for FORGET_USER, and accepts SKIP and UNKNOWN without ids', () => {
    for (const kind of ['FORGET_USER', 'SKIP', 'UNKNOWN'] as FeedbackKind[]) {
      const e = feedback({ kind, trackId: null, playlistId: null });
      expect(validateFeedback(e, NOW)).toBe(e);
    }
    expect(rejection(() => validateFeedback(feedback({ kind: 'FORGET_USER', playlistId: null, userId: '' }), NOW)).message).toBe("feedback f1: userId '' is empty");
  });

  it('applies the id and event-time rules to every kind', () => {
    expect(rejection(() => validateFeedback(feedback({ eventId: '' }), NOW)).message).toBe("feedback (no eventId): eventId '' is empty");
    expect(rejection(() => validateFeedback(feedback({ kind: 'UNKNOWN', eventTime: -5 }), NOW)).message).toBe('feedback f1: eventTime -5 < 0 (before the epoch)');
    expect(rejection(() => validateFeedback(feedback({ eventTime: Number.NaN }), NOW)).message).toBe('feedback f1: eventTime NaN is not a finite number');
    const broken = NOW + EVENT_RULES.maxFutureMs + 1000;
    expect(rejection(() => validateFeedback(feedback({ kind: 'SKIP', eventTime: broken }), NOW)).message).toMatch(/^feedback f1: eventTime \d+ > now \+ maxFutureMs/);
    expect(validateFeedback(feedback({ kind: 'SKIP', eventTime: NOW + EVENT_RULES.maxFutureSkewMs + 1000 }), NOW).eventTime).toBe(NOW);
    // a configured skew (BUDDIES_MAX_CLOCK_SKEW_MS): 0 clamps every time ahead of the clock
    expect(validateFeedback(feedback({ kind: 'SKIP', eventTime: NOW + 1 }), NOW, 0).eventTime).toBe(NOW);
    expect(validateListen(listen({ eventTime: NOW + 1 }), NOW, 0).eventTime).toBe(NOW);
    expect(validateListen(listen({ eventTime: NOW }), NOW, 0).eventTime).toBe(NOW);
  });
});
