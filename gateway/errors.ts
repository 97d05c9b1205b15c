/**
 * The gateway's error codes: one table, shared by the WebSocket protocol (`{"type":"error","code":...}`) and HTTP
 * (`{"error":{"code":...}}` with the table's status), in the manner of fastify's FST_ERR_* codes. Codes are stable:
 * clients branch on them; messages are one line for people.
 */

/** Every code with its HTTP status and what it means (docs/gateway.md prints this table). */
export const ERROR_CODES = {
  unauthorized: { status: 401, meaning: 'no token: send `Authorization: Bearer` or, first on a WebSocket, an `auth` message' },
  bad_token: { status: 401, meaning: 'the token does not verify: signature, algorithm, issuer, audience, or a missing `sub`/`exp`' },
  token_expired: { status: 401, meaning: 'the token expired (checked at connect and during the connection)' },
  auth_timeout: { status: 408, meaning: 'no `auth` message within the auth timeout of a connection opened without a token' },
  malformed_frame: { status: 400, meaning: 'not a JSON object with a string `type`, or a field of the wrong shape' },
  frame_too_large: { status: 413, meaning: 'a frame (or an HTTP body) above the size limit' },
  unknown_type: { status: 400, meaning: 'a `type` the server does not know' },
  bad_event: { status: 400, meaning: 'an event that breaks its Avro contract or a rule; the message and `field` name the field' },
  rate_limited: { status: 429, meaning: 'more messages than the per-connection rate allows; the message was dropped' },
  forbidden_channel: { status: 403, meaning: 'a channel this token may not subscribe to (metrics, or another user\'s list, without `role: operator`), or no such channel' },
  forbidden: { status: 403, meaning: 'the token may not do this (another user\'s list or events, a disallowed origin)' },
  not_found: { status: 404, meaning: 'no such route, or no list for this user yet' },
  method_not_allowed: { status: 405, meaning: 'the route exists, the method does not' },
  unavailable: { status: 503, meaning: 'Kafka or a limit of this instance (connections, queued events) cannot take it now; retry later' },
} as const satisfies Record<string, { readonly status: number; readonly meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];

export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/**
 * An error with a code from the table: thrown by the gateway's parsers, verifiers and handlers, and turned into an
 * error frame or an HTTP error body at the edge. `field` is the path of the offending field, for `bad_event`.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(readonly code: ErrorCode, message: string, readonly field?: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }

  get status(): number {
    return httpStatus(this.code);
  }
}

/**
 * WebSocket close codes the gateway uses (4000 + the HTTP status where one fits), so a client can tell why a
 * connection ended without reading the last error frame.
 */
export const CLOSE_CODES = {
  /** Server shutting down (RFC 6455 1001). */
  goingAway: 1001,
  /** A frame above the hard limit; closed by the ws library itself (RFC 6455 1009). */
  tooBig: 1009,
  /** The client does not read its messages fast enough (its queue of acks and errors is full). */
  slowConsumer: 1013,
  /** unauthorized, bad_token, token_expired. */
  unauthorized: 4401,
  /** auth_timeout. */
  authTimeout: 4408,
  /** No pong to the last heartbeat ping. */
  heartbeat: 4000,
} as const;
