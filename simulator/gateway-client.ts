import WebSocket from 'ws';
import type { FeedbackEvent, ListenEvent, RecommendationList } from '../streams/index.js';

/**
 * A client of the gateway's WebSocket protocol (docs/gateway.md), as an app would use it: authenticates with a
 * JWT (the `Authorization: Bearer` header of the upgrade, or the first `auth` message), subscribes to its
 * channels, receives pushed lists, sends feedback and listens and waits for their acks, and reconnects with
 * exponential backoff and jitter when the connection drops, subscribing again (the server then pushes the current
 * list at once, so nothing is replayed from Kafka for it).
 *
 * State: everything lives in this object (the socket, requests waiting for their ack, counters); nothing survives
 * the process. After a reconnect, requests that were sent but not acknowledged are sent again: delivery is at
 * least once, and the processors count each event id once.
 */

export type GatewayChannel = 'recommendations' | 'metrics';

/** A list as the gateway pushes it (the recommendations topic's record, as JSON). */
export type PushedList = RecommendationList;

/** Codes of the gateway's error table (gateway/errors.ts), plus the client's own `ack_timeout`, `closed`, `queue_full`. */
export type GatewayErrorCode =
  | 'unauthorized' | 'bad_token' | 'token_expired' | 'auth_timeout' | 'malformed_frame' | 'frame_too_large' | 'unknown_type'
  | 'bad_event' | 'rate_limited' | 'forbidden_channel' | 'forbidden' | 'not_found' | 'unavailable'
  | 'ack_timeout' | 'closed' | 'queue_full' | 'connect_failed';

/** Codes after which the same request may succeed later (the client retries them itself, with backoff). */
const RETRIABLE: ReadonlySet<string> = new Set(['rate_limited', 'unavailable', 'ack_timeout']);
/** Codes that end the client: reconnecting with the same credentials cannot help. */
const FATAL: ReadonlySet<string> = new Set(['unauthorized', 'bad_token', 'forbidden_channel', 'forbidden']);

/** An error answered by the gateway (its `code` from the shared table) or raised by this client. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(readonly code: GatewayErrorCode | string, message: string, readonly retriable = RETRIABLE.has(code)) {
    super(message);
  }
}

export interface BackoffOptions {
  /** First delay (default 250 ms). */
  readonly initialMs?: number;
  /** Largest delay (default 10 s). */
  readonly maxMs?: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Share of the delay drawn at random, 0..1 (default 0.5: a delay is within [d/2, d]). */
  readonly jitter?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first): exponential, capped, with "equal jitter" so that
 * thousands of clients dropped at once do not come back in step. `random` is a draw in [0, 1).
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: number = Math.random()): number {
  const initial = opts.initialMs ?? 250;
  const max = opts.maxMs ?? 10_000;
  const factor = opts.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const d = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(d * (1 - jitter) + d * jitter * random);
}

export interface GatewayClientOptions {
  /** The stream endpoint, e.g. `ws://127.0.0.1:8080/v1/stream`. */
  readonly url: string;
  /** The JWT, or a function asked again on every (re)connect (so a reconnect after `token_expired` gets a fresh one). */
  readonly token: string | (() => string | Promise<string>);
  /** `header` (default): `Authorization: Bearer` on the upgrade; `message`: the first frame, as browsers do. */
  readonly authVia?: 'header' | 'message';
  /** Channels subscribed on every connect (default `['recommendations']`). */
  readonly channels?: readonly GatewayChannel[];
  /** Another user's lists (operator tokens only); default the token's own user. */
  readonly userId?: string;
  /** Every pushed list, with the local time it arrived (epoch ms). */
  readonly onList?: (list: PushedList, receivedAt: number) => void;
  /** Every metrics snapshot pushed on the metrics channel. */
  readonly onMetrics?: (snapshot: Record<string, unknown>) => void;
  /** Error frames not tied to a request of this client, and fatal connection failures. */
  readonly onError?: (err: GatewayError) => void;
  /** Connection state changes (for progress output and tests). */
  readonly onState?: (state: GatewayClientState) => void;
  /** Reconnect policy; `false` turns reconnecting off (a dropped connection then fails pending requests). */
  readonly reconnect?: (BackoffOptions & { readonly maxAttempts?: number }) | false;
  /** How long a request waits for its ack (default 10 s; then retried while the attempts last). */
  readonly ackTimeoutMs?: number;
  /** Attempts per request for retriable errors (default 5). */
  readonly maxAttempts?: number;
  /** Requests waiting (sent or queued) at most; beyond that a request fails at once with `queue_full` (default 1000). */
  readonly maxPending?: number;
  /** How long one connect may take, upgrade to subscribed (default 10 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Whether a failed first connect is retried like a dropped connection (default false: `connect()` rejects with
   * `connect_failed`, so a gateway that is down is reported at once).
   */
  readonly retryFirstConnect?: boolean;
  /**
   * Messages per second this client sends at most, and its burst (a token bucket): set it to the gateway's
   * per-connection limit (BUDDIES_GATEWAY_RATE, _BURST) and requests wait their turn instead of being answered
   * `rate_limited`. Default: no pacing.
   */
  readonly rate?: { readonly perSecond: number; readonly burst: number };
  /**
   * A connection on which nothing (no frame, no heartbeat ping of the server) arrived for this long is dropped and
   * re-established: set it to a few of the gateway's heartbeat intervals (BUDDIES_GATEWAY_HEARTBEAT_MS). Default off.
   */
  readonly heartbeatTimeoutMs?: number;
  /** Extra headers of the upgrade request (e.g. `Origin`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type GatewayClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface GatewayClientStats {
  readonly lists: number;
  readonly metrics: number;
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly reconnects: number;
  /** Error frames received, by code. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface GatewayClient {
  readonly state: GatewayClientState;
  readonly stats: GatewayClientStats;
  /** The newest list received, if any. */
  readonly latest: PushedList | undefined;
  /**
   * Opens the connection, authenticates and subscribes; resolves once every subscription is acknowledged. Rejects
   * with a {@link GatewayError} on a fatal answer (`bad_token`, `forbidden_channel`, ...) or, with reconnecting
   * off, on the first failure. Called once.
   */
  connect(): Promise<void>;
  /** Sends a feedback event; resolves when the gateway acknowledged it (Kafka has it). */
  feedback(event: FeedbackEvent): Promise<void>;
  /** Sends a listen event; resolves when the gateway acknowledged it. */
  listen(event: ListenEvent): Promise<void>;
  /** Round trip of a `ping`, in ms. */
  ping(): Promise<number>;
  /** Closes the connection for good; pending requests fail with `closed`. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  readonly frame: Record<string, unknown>;
  readonly of: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: GatewayError) => void;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** On the wire on the current socket (else queued for the next one). */
  sent: boolean;
  /** Waiting out a backoff before it is sent again. */
  backingOff: boolean;
}

/** A token bucket of `perSecond` refill and `burst` size, on the monotonic clock. */
function createBucket(perSecond: number, burst: number) {
  let tokens = burst;
  let at = performance.now();
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond);
    at = now;
  };
  return {
    take(): boolean {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    /** Milliseconds until the next token. */
    waitMs(): number {
      refill();
      return Math.max(1, Math.ceil(((1 - tokens) / perSecond) * 1000));
    },
  };
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  if (!/^wss?:\/\//.test(opts.url)) throw new TypeError(`gateway url ${opts.url}: expected ws:// or wss://`);
  const channels = opts.channels ?? ['recommendations'];
  const ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
  const maxAttempts = opts.maxAttempts ?? 5;
  const maxPending = opts.maxPending ?? 1000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const reconnect = opts.reconnect === false ? undefined : (opts.reconnect ?? {});

  let state: GatewayClientState = 'idle';
  let ws: WebSocket | undefined;
  let latest: PushedList | undefined;
  let seq = 0;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  if (opts.rate && !(opts.rate.perSecond > 0 && opts.rate.burst >= 1)) throw new RangeError('rate.perSecond must be > 0 and rate.burst >= 1');
  const bucket = opts.rate ? createBucket(opts.rate.perSecond, opts.rate.burst) : undefined;
  let firstConnect: { resolve: () => void; reject: (e: GatewayError) => void } | undefined;
  const pending = new Map<string, Pending>();
  const stats = { lists: 0, metrics: 0, sent: 0, acked: 0, failed: 0, reconnects: 0, errors: {} as Record<string, number> };

  const setState = (s: GatewayClientState) => {
    if (s === state) return;
    state = s;
    opts.onState?.(s);
  };
  const nextId = () => `c${++seq}`;

  function fail(p: Pending, id: string, err: GatewayError) {
    if (p.timer) clearTimeout(p.timer);
    pending.delete(id);
    stats.failed++;
    p.reject(err);
  }

  /** Puts one request on the wire (the caller took a token). */
  function transmit(id: string, p: Pending) {
    p.sent = true;
    p.attempts++;
    stats.sent++;
    ws!.send(JSON.stringify(p.frame));
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => retry(id, new GatewayError('ack_timeout', `no ack for ${p.of} ${id} within ${ackTimeoutMs} ms`)), ackTimeoutMs);
    p.timer.unref?.();
  }

  /**
   * Sends what waits, oldest first, as far as the connection is open and the rate allows (the gateway drops what
   * goes beyond its per-connection rate with `rate_limited`, so a well-behaved client keeps under it).
   */
  function flush() {
    if (state !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return; // flushed again on the next open
    for (const [id, p] of pending) {
      if (p.sent || p.backingOff) continue;
      if (bucket && !bucket.take()) {
        if (!flushTimer) {
          flushTimer = setTimeout(() => { flushTimer = undefined; flush(); }, bucket.waitMs());
          flushTimer.unref?.();
        }
        return;
      }
      transmit(id, p);
    }
  }

  function retry(id: string, err: GatewayError) {
    const p = pending.get(id);
    if (!p) return;
    if (!err.retriable || p.attempts >= maxAttempts) return fail(p, id, err);
    p.sent = false;
    p.backingOff = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => { p.backingOff = false; flush(); }, backoffDelay(p.attempts - 1, reconnect ?? {}));
    p.timer.unref?.();
  }

  function request(type: string, body: Record<string, unknown>, of = type): Promise<unknown> {
    if (state === 'closed') return Promise.reject(new GatewayError('closed', 'the gateway client is closed'));
    if (pending.size >= maxPending) return Promise.reject(new GatewayError('queue_full', `${pending.size} requests already wait for the gateway`));
    const id = nextId();
    return new Promise((resolve, reject) => {
      const p: Pending = { frame: { type, id, ...body }, of, resolve, reject, attempts: 0, sent: false, backingOff: false };
      pending.set(id, p);
      flush();
    });
  }

  function onFrame(raw: WebSocket.RawData) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(raw.toString()) as Record<string, unknown>;
    } catch {
      return; // a server that sends non-JSON is not this protocol; ignore the frame
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    switch (msg.type) {
      case 'recommendations': {
        const { type: _t, ...list } = msg;
        latest = list as unknown as PushedList;
        stats.lists++;
        opts.onList?.(latest, Date.now());
        return;
      }
      case 'metrics': {
        stats.metrics++;
        opts.onMetrics?.(msg);
        return;
      }
      case 'ack':
      case 'pong': {
        // an ack without an id (the gateway acks `auth` so) answers the oldest request of its kind on the wire
        const key = id ?? [...pending].find(([, q]) => q.sent && q.of === (msg.type === 'pong' ? 'ping' : msg.of))?.[0];
        const p = key === undefined ? undefined : pending.get(key);
        if (!p) return;
        if (p.timer) clearTimeout(p.timer);
        pending.delete(key!);
        stats.acked++;
        p.resolve(msg);
        return;
      }
      case 'error': {
        const code = typeof msg.code === 'string' ? msg.code : 'unknown';
        stats.errors[code] = (stats.errors[code] ?? 0) + 1;
        const err = new GatewayError(code, typeof msg.message === 'string' ? msg.message : code);
        if (id !== undefined && pending.has(id)) return retry(id, err);
        if (FATAL.has(code) || (code === 'token_expired' && typeof opts.token === 'string')) return terminate(err);
        opts.onError?.(err);
        return;
      }
      default:
        return;
    }
  }

  /** A fatal answer: no reconnect, everything waiting fails with it. */
  function terminate(err: GatewayError) {
    setState('closed');
    if (retryTimer) clearTimeout(retryTimer);
    if (flushTimer) clearTimeout(flushTimer);
    for (const [id, p] of pending) fail(p, id, err);
    ws?.removeAllListeners();
    ws?.on('error', () => {});
    ws?.terminate();
    ws = undefined;
    if (firstConnect) {
      firstConnect.reject(err);
      firstConnect = undefined;
    } else opts.onError?.(err);
  }

  async function open(): Promise<void> {
    setState(attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      token = typeof opts.token === 'string' ? opts.token : await opts.token();
    } catch (err) {
      return terminate(new GatewayError('unauthorized', `no token: ${err instanceof Error ? err.message : String(err)}`));
    }
    if (state === 'closed') return;
    const headers: Record<string, string> = { ...opts.headers };
    if ((opts.authVia ?? 'header') === 'header') headers.Authorization = `Bearer ${token}`;
    const socket = new WebSocket(opts.url, { headers, perMessageDeflate: false, handshakeTimeout: connectTimeoutMs });
    ws = socket;
    let subscribed = false;
    const deadline = setTimeout(() => socket.terminate(), connectTimeoutMs);
    deadline.unref?.();

    socket.on('unexpected-response', (_req, res) => {
      // the upgrade was refused over HTTP: read the error table's code from the body
      let body = '';
      res.on('data', (c: Buffer) => { if (body.length < 4096) body += c.toString(); });
      res.on('end', () => {
        clearTimeout(deadline);
        let code = res.statusCode === 401 ? 'unauthorized' : res.statusCode === 403 ? 'forbidden' : res.statusCode === 503 ? 'unavailable' : 'connect_failed';
        let message = `the gateway refused the connection: HTTP ${res.statusCode}`;
        try {
          const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
          if (e?.code) code = e.code;
          if (e?.message) message = e.message;
        } catch { /* not JSON: keep the status */ }
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        const err = new GatewayError(code, message);
        if (FATAL.has(code) || (code === 'token_expired' && typeof opts.token === 'string')) terminate(err);
        else scheduleReconnect(err);
      });
    });
    socket.on('open', () => {
      void (async () => {
        try {
          if ((opts.authVia ?? 'header') === 'message') await raw({ type: 'auth', token }, 'auth');
          for (const channel of channels) await raw({ type: 'subscribe', channel, ...(opts.userId ? { userId: opts.userId } : {}) }, 'subscribe');
        } catch (err) {
          const e = err instanceof GatewayError ? err : new GatewayError('connect_failed', String(err));
          if (FATAL.has(e.code)) return terminate(e);
          socket.terminate();
          return;
        }
        clearTimeout(deadline);
        subscribed = true;
        attempt = 0;
        setState('open');
        flush();
        firstConnect?.resolve();
        firstConnect = undefined;
      })();
    });
    // a server that went silent (no frame and no heartbeat ping for a while) is gone without a FIN: drop and reconnect
    let silence: NodeJS.Timeout | undefined;
    const heard = () => {
      if (!opts.heartbeatTimeoutMs) return;
      if (silence) clearTimeout(silence);
      silence = setTimeout(() => socket.terminate(), opts.heartbeatTimeoutMs);
      silence.unref?.();
    };
    socket.on('open', heard);
    socket.on('ping', heard);
    socket.on('message', (raw) => {
      heard();
      onFrame(raw);
    });
    socket.on('error', () => { /* followed by 'close', which decides */ });
    socket.on('close', (code, reason) => {
      clearTimeout(deadline);
      if (silence) clearTimeout(silence);
      if (ws !== socket || state === 'closed') return;
      ws = undefined;
      for (const p of pending.values()) {
        p.sent = false; // resent after the reconnect (at least once; event ids dedup)
        p.backingOff = false;
        if (p.timer) clearTimeout(p.timer);
      }
      const why = reason.toString() || `close code ${code}`;
      scheduleReconnect(new GatewayError(subscribed ? 'closed' : 'connect_failed', `the gateway connection closed: ${why}`));
    });

    /** A control request of the handshake (auth, subscribe): sent on this socket only, never queued. */
    function raw(frame: Record<string, unknown>, of: string): Promise<unknown> {
      const id = nextId();
      return new Promise((resolve, reject) => {
        const p: Pending = { frame: { ...frame, id }, of, resolve, reject, attempts: maxAttempts, sent: true, backingOff: false };
        pending.set(id, p);
        p.timer = setTimeout(() => fail(p, id, new GatewayError('ack_timeout', `no ack for ${of} within ${ackTimeoutMs} ms`)), ackTimeoutMs);
        p.timer.unref?.();
        socket.send(JSON.stringify(p.frame));
      });
    }
  }

  function scheduleReconnect(err: GatewayError) {
    if (state === 'closed') return;
    // the handshake's own requests die with their socket
    for (const [id, p] of pending) if (p.of === 'auth' || p.of === 'subscribe') fail(p, id, err);
    if (!reconnect || (firstConnect && !opts.retryFirstConnect) || (reconnect.maxAttempts !== undefined && attempt >= reconnect.maxAttempts)) {
      return terminate(err.code === 'closed' || err.code === 'connect_failed' ? err : new GatewayError('connect_failed', err.message));
    }
    setState('reconnecting');
    stats.reconnects++;
    const delay = backoffDelay(attempt++, reconnect);
    retryTimer = setTimeout(() => { void open(); }, delay);
  }

  return {
    get state() { return state; },
    get stats() { return { ...stats, errors: { ...stats.errors } }; },
    get latest() { return latest; },
    connect() {
      if (state !== 'idle') return Promise.reject(new GatewayError('closed', `connect() is called once (state ${state})`));
      return new Promise<void>((resolve, reject) => {
        firstConnect = { resolve, reject };
        void open();
      });
    },
    feedback: async (event) => { await request('feedback', { event }); },
    listen: async (event) => { await request('listen', { event }); },
    async ping() {
      const t = performance.now();
      await request('ping', {}, 'ping');
      return performance.now() - t;
    },
    async close() {
      if (state === 'closed') return;
      setState('closed');
      if (retryTimer) clearTimeout(retryTimer);
      if (flushTimer) clearTimeout(flushTimer);
      for (const [id, p] of pending) fail(p, id, new GatewayError('closed', 'the gateway client was closed'));
      firstConnect?.reject(new GatewayError('closed', 'the gateway client was closed before it connected'));
      firstConnect = undefined;
      const socket = ws;
      ws = undefined;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { socket.terminate(); resolve(); }, 2000);
        t.unref?.();
        socket.once('close', () => { clearTimeout(t); resolve(); });
        socket.on('error', () => {});
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close(1000, 'bye');
      });
    },
  };
}
