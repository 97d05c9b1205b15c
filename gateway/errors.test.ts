import { describe, expect, it } from 'vitest';
import { ERROR_CODE_NAMES, ERROR_CODES, GatewayError, httpStatus } from './errors.js';

describe('the error table', () => {
  it('holds the codes of the protocol with their HTTP status', () => {
    // the codes and statuses docs/gateway.md and the contract name
    expect(Object.fromEntries(ERROR_CODE_NAMES.map((c) => [c, httpStatus(c)]))).toEqual({
      unauthorized: 401, bad_token: 401, token_expired: 401, auth_timeout: 408, malformed_frame: 400, frame_too_large: 413, unknown_type: 400,
      bad_event: 400, rate_limited: 429, forbidden_channel: 403, forbidden: 403, not_found: 404, method_not_allowed: 405, unavailable: 503,
    });
    for (const c of ERROR_CODE_NAMES) expect(ERROR_CODES[c].meaning).not.toMatch(/\n/);
  });

  it('keeps messages to one line and carries the field', () => {
    const e = new GatewayError('bad_event', 'event.msPlayed:\n  expected long', 'event.msPlayed');
    expect(e.message).toBe('event.msPlayed: expected long');
    expect(e).toMatchObject({ code: 'bad_event', status: 400, field: 'event.msPlayed' });
  });
});
