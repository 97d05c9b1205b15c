import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { GatewayError } from './errors.js';
import { createEventValidator, parseClientFrame } from './frames.js';

const validator = createEventValidator(join(findRootDir(), 'schemas'), () => 1_800_000_000_000);
const ana = { userId: 'ana', role: 'user' as const };
const op = { userId: 'op', role: 'operator' as const };
const listen = { eventId: 'e1', trackId: 'spotify:track:1', source: 'LIBRARY', msPlayed: 1000, trackDurationMs: 2000, eventTime: 1_700_000_000_000 };
const click = { eventId: 'f1', kind: 'CLICK', playlistId: 'p1', recommendationId: 'r1', position: 2, eventTime: 1_700_000_000_000 };

function failure(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return { code: err.code, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected a GatewayError');
}

describe('parseClientFrame', () => {
  it('reads every client frame type', () => {
    expect(parseClientFrame('{"type":"auth","token":"t"}')).toEqual({ frame: { type: 'auth', token: 't' } });
    expect(parseClientFrame('{"type":"subscribe","channel":"recommendations","id":"1"}')).toEqual({ frame: { type: 'subscribe', channel: 'recommendations', id: '1' } });
    expect(parseClientFrame('{"type":"subscribe","channel":"recommendations","userId":"bo"}')).toEqual({ frame: { type: 'subscribe', channel: 'recommendations', userId: 'bo' } });
    expect(parseClientFrame('{"type":"unsubscribe","channel":"metrics"}')).toEqual({ frame: { type: 'unsubscribe', channel: 'metrics' } });
    expect(parseClientFrame('{"type":"ping","id":"p"}')).toEqual({ frame: { type: 'ping', id: 'p' } });
    expect(parseClientFrame('{"type":"feedback","event":{"kind":"SKIP"}}')).toEqual({ frame: { type: 'feedback', event: { kind: 'SKIP' } } });
  });

  it('answers malformed_frame, unknown_type, forbidden_channel or bad_event, with the id when it can read one', () => {
    const code = (text: string) => {
      const r = parseClientFrame(text);
      return 'error' in r ? [r.error.code, r.id] : ['ok'];
    };
    expect(code('not json')).toEqual(['malformed_frame', undefined]);
    expect(code('[1,2]')).toEqual(['malformed_frame', undefined]);
    expect(code('"ping"')).toEqual(['malformed_frame', undefined]);
    expect(code('{"id":"7"}')).toEqual(['malformed_frame', '7']);
    expect(code('{"type":5}')).toEqual(['malformed_frame', undefined]);
    expect(code('{"type":"explode","id":"8"}')).toEqual(['unknown_type', '8']);
    expect(code('{"type":"ping","id":5}')).toEqual(['malformed_frame', undefined]);
    expect(code(`{"type":"ping","id":"${'x'.repeat(129)}"}`)).toEqual(['malformed_frame', undefined]);
    expect(code('{"type":"auth"}')).toEqual(['malformed_frame', undefined]);
    expect(code('{"type":"subscribe"}')).toEqual(['malformed_frame', undefined]);
    expect(code('{"type":"subscribe","channel":"admin"}')).toEqual(['forbidden_channel', undefined]);
    expect(code('{"type":"subscribe","channel":"recommendations","userId":3}')).toEqual(['malformed_frame', undefined]);
    expect(code('{"type":"listen","event":[]}')).toEqual(['bad_event', undefined]);
  });
});

describe('createEventValidator', () => {
  it('builds Avro records from app JSON: the sender as userId, missing nullable fields as null', () => {
    expect(validator.listen(listen, ana, 'event')).toEqual({ ...listen, userId: 'ana', playlistId: null, recommendationId: null });
    expect(validator.feedback(click, ana, 'event')).toEqual({ ...click, userId: 'ana', trackId: null });
    expect(validator.feedback({ ...click, userId: 'ana' }, ana, 'event').userId).toBe('ana');
    // an operator may send on behalf of a user
    expect(validator.listen({ ...listen, userId: 'bo' }, op, 'event').userId).toBe('bo');
  });

  it('names the field that breaks the Avro contract', () => {
    expect(failure(() => validator.listen({ ...listen, msPlayed: 'lots' }, ana, 'event'))).toMatchObject({ code: 'bad_event', field: 'event.msPlayed', message: "event.msPlayed: expected long, got 'lots'" });
    expect(failure(() => validator.listen({ ...listen, msPlayed: 1.5 }, ana, 'events[3].event'))).toMatchObject({ field: 'events[3].event.msPlayed' });
    expect(failure(() => validator.listen({ ...listen, source: 'TELEPATHY' }, ana, 'event'))).toMatchObject({ field: 'event.source', message: expect.stringMatching(/one of ORGANIC_PLAYLIST/) });
    expect(failure(() => validator.listen({ ...listen, trackId: undefined }, ana, 'event'))).toMatchObject({ field: 'event.trackId', message: 'event.trackId: expected string, got missing' });
    expect(failure(() => validator.listen({ ...listen, playlistId: 7 }, ana, 'event'))).toMatchObject({ field: 'event.playlistId', message: expect.stringMatching(/null or string/) });
    expect(failure(() => validator.listen({ ...listen, colour: 'red' }, ana, 'event'))).toMatchObject({ field: 'event.colour', message: expect.stringMatching(/no such field/) });
    expect(failure(() => validator.feedback({ ...click, kind: 'HUG' }, ana, 'event'))).toMatchObject({ field: 'event.kind' });
    expect(failure(() => validator.feedback('click', ana, 'event'))).toMatchObject({ code: 'bad_event', field: 'event' });
  });

  it('applies the rules the schema cannot say', () => {
    const field = (fn: () => unknown) => failure(fn).field;
    expect(field(() => validator.listen({ ...listen, msPlayed: -1 }, ana, 'event'))).toBe('event.msPlayed');
    expect(field(() => validator.listen({ ...listen, trackDurationMs: 0 }, ana, 'event'))).toBe('event.trackDurationMs');
    expect(field(() => validator.listen({ ...listen, trackDurationMs: 25 * 3_600_000 }, ana, 'event'))).toBe('event.trackDurationMs');
    expect(field(() => validator.listen({ ...listen, eventId: '' }, ana, 'event'))).toBe('event.eventId');
    expect(field(() => validator.listen({ ...listen, eventTime: -5 }, ana, 'event'))).toBe('event.eventTime');
    expect(field(() => validator.listen({ ...listen, eventTime: 1_800_000_000_000 * 1000 }, ana, 'event'))).toBe('event.eventTime');
    expect(field(() => validator.feedback({ ...click, playlistId: undefined }, ana, 'event'))).toBe('event.playlistId');
    expect(field(() => validator.feedback({ ...click, kind: 'LIKE_TRACK', playlistId: undefined }, ana, 'event'))).toBe('event.trackId');
    expect(field(() => validator.feedback({ ...click, kind: 'FORGET_USER' }, ana, 'event'))).toBe('event.kind');
    expect(field(() => validator.feedback({ ...click, position: -1 }, ana, 'event'))).toBe('event.position');
    expect(validator.feedback({ eventId: 'f2', kind: 'SKIP', trackId: 't', eventTime: 1 }, ana, 'event').kind).toBe('SKIP');
  });

  it("refuses another user's event from a user token", () => {
    expect(failure(() => validator.listen({ ...listen, userId: 'bo' }, ana, 'event'))).toMatchObject({ code: 'forbidden', field: 'event.userId' });
  });
});
