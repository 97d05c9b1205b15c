/**
 * The gateway: a WebSocket server (`/v1/stream`) and HTTP routes on one port. It pushes each user's newest
 * recommendation list to the user's connections, metrics snapshots to operators, and takes listen and feedback
 * events from apps into Kafka. The protocol, limits and codes are in docs/gateway.md.
 *
 * State: the table of latest lists (gateway/latest-lists.ts: in memory, rebuilt from the recommendations topic at
 * every start) and the open connections with their subscriptions (in memory; a client reconnects to any instance,
 * subscribes again and gets its current list at once). Nothing else: events go straight to Kafka.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { createTypedProducer, type AvroSerde, type FeedbackEvent, type ListenEvent, type OutRecord, type TypedProducer } from '../streams/index.js';
import { bearerToken, createTokenVerifier, type AuthOptions, type Principal, type TokenVerifier } from './auth.js';
import { CLOSE_CODES, GatewayError } from './errors.js';
import { createEventSink, type EventSink } from './event-sink.js';
import { createEventValidator, parseClientFrame, type EventValidator } from './frames.js';
import { createLatestLists, type LatestList, type LatestLists } from './latest-lists.js';
import { createGatewayMetrics, type GatewayMetrics } from './prometheus.js';
import { DASHBOARD_PATH, EVENTS_PATH, STREAM_PATH, type Channel, type ClientFrame, type MetricsSnapshot, type MetricsSource, type StaticAssets } from './protocol.js';
import { createTokenBucket, type TokenBucket } from './rate-limit.js';
import { createReadiness, type ReadinessCheck, type ReadinessResult } from './readiness.js';
import { createSendQueue, type OutMessage, type SendQueue } from './send-queue.js';

/** The limits of one gateway instance; every one has a default and a config variable (docs/gateway.md). */
export interface GatewayLimits {
  /** Largest client frame handled (bytes); a larger one gets `frame_too_large` and the connection stays. */
  readonly maxFrameBytes: number;
  /** Largest frame the ws library reads at all; beyond, it closes the connection (1009). */
  readonly hardFrameBytes: number;
  /** Bytes a connection may have handed to its socket and not yet written out before pushes wait and coalesce. */
  readonly sendBufferBytes: number;
  /** Acks, pongs and errors that may wait behind a full send buffer; one more closes the connection (1013). */
  readonly maxQueuedMessages: number;
  /** Client messages per second, per connection (token bucket refill rate). */
  readonly ratePerS: number;
  /** Client messages a connection may send in a burst (token bucket size). */
  readonly burst: number;
  /** Ping interval; a connection that did not answer the previous ping is closed. */
  readonly heartbeatMs: number;
  /** How long a connection opened without a token has to send `auth`. */
  readonly authTimeoutMs: number;
  /** Open connections per instance; more get HTTP 503 `unavailable` at the upgrade. */
  readonly maxConnections: number;
  /** Subscriptions per connection. */
  readonly maxSubscriptions: number;
  /** Largest HTTP request body (bytes). */
  readonly maxBodyBytes: number;
  /** Events per `POST /v1/events`. */
  readonly maxEventsPerRequest: number;
  /** Events accepted and not yet acknowledged by Kafka, per instance; more get `unavailable`. */
  readonly maxPendingEvents: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxFrameBytes: 64 * 1024,
  hardFrameBytes: 1024 * 1024,
  sendBufferBytes: 256 * 1024,
  maxQueuedMessages: 64,
  ratePerS: 20,
  burst: 40,
  heartbeatMs: 30_000,
  authTimeoutMs: 5000,
  maxConnections: 100_000,
  maxSubscriptions: 32,
  maxBodyBytes: 1024 * 1024,
  maxEventsPerRequest: 500,
  maxPendingEvents: 10_000,
};

export interface GatewayOptions {
  readonly kafka: Kafka;
  /** A serde with (at least) the listens, feedback and recommendations schemas registered; its topic names are used. */
  readonly serde: AvroSerde;
  /** The folder of the Avro schemas (events are validated against them). */
  readonly schemasDir: string;
  readonly auth: AuthOptions;
  /** Port to listen on (default 8080; 0: any free port, see {@link Gateway.port}). */
  readonly port?: number;
  /** Address to listen on (default 0.0.0.0). */
  readonly host?: string;
  /**
   * Browser origins allowed besides the gateway's own (e.g. `https://app.example`); `*` allows any. Requests without
   * an `Origin` header (apps, not browsers) are always allowed: tokens, not cookies, carry the authority.
   */
  readonly origins?: readonly string[];
  readonly limits?: Partial<GatewayLimits>;
  /** Source of the metrics channel; without one, subscribing to `metrics` gets `unavailable`. Not closed by the gateway. */
  readonly metrics?: MetricsSource;
  /** Static files served as they are (the dashboard under `/dashboard/`). */
  readonly assets?: StaticAssets;
  /** What `/readyz` checks besides the table of latest lists being caught up (see gateway/readiness.ts). */
  readonly readiness?: readonly ReadinessCheck[];
  /** Prefix of the consumer group ids (default buddies-gateway). */
  readonly groupPrefix?: string;
  /** Progress and problems, one line each (default: none). */
  readonly log?: (line: string) => void;
  /** Rejects start if the table of latest lists is not caught up in this time (default 300 s). */
  readonly catchUpTimeoutMs?: number;
}

/** One connection as `stats()` shows it. */
export interface ConnectionStats {
  readonly id: number;
  readonly userId: string | null;
  readonly subscriptions: number;
  /** Bytes handed to the socket and not yet written out (the send queue's own count). */
  readonly bufferedBytes: number;
  /** The ws library's own count of bytes not yet written out. */
  readonly socketBufferedAmount: number;
  /** Messages waiting behind the full buffer, and their bytes. */
  readonly queued: number;
  readonly queuedBytes: number;
}

export interface GatewayStats {
  readonly connections: number;
  readonly subscriptions: Readonly<Record<Channel, number>>;
  readonly latestLists: number;
  readonly pendingEvents: number;
  /** Pushes replaced by a newer one while waiting, since start. */
  readonly coalesced: number;
  /** Connections closed because their queue of control messages overflowed, since start. */
  readonly slowConsumers: number;
  readonly perConnection: readonly ConnectionStats[];
}

export interface Gateway {
  /** The port listened on. */
  readonly port: number;
  /** `http://127.0.0.1:PORT` (or the host listened on). */
  readonly url: string;
  /** Its Prometheus registry (served at `/metrics`). */
  readonly registry: Registry;
  stats(): GatewayStats;
  /** Closes connections (1001), stops reading Kafka, waits for events in flight, closes the port. Idempotent. */
  close(): Promise<void>;
}

interface PushMeta {
  readonly channel?: Channel;
  /** Set for live list pushes: the list's Kafka write time, for the latency histogram. */
  readonly writtenAt?: number;
}

interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  readonly queue: SendQueue<PushMeta>;
  readonly bucket: TokenBucket;
  readonly subs: Set<string>;
  principal: Principal | undefined;
  authPending: Promise<void> | undefined;
  alive: boolean;
  rateNotified: boolean;
  closed: boolean;
  authTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The heartbeat is a wheel: connections are spread over slots by id and each tick pings one slot, so every connection
 * is pinged once per `heartbeatMs` without one sweep of all of them in a single tick (10,000 pings and then 10,000
 * pongs at once stalled the event loop, and every push behind it, for hundreds of ms: bench/results/ws-fanout.md).
 * A tick comes at most every HEARTBEAT_TICK_MS, with at most HEARTBEAT_SLOTS slots.
 */
const HEARTBEAT_TICK_MS = 100;
const HEARTBEAT_SLOTS = 300;
/** The connection of a socket, so that its event handlers are shared functions rather than closures per connection. */
const CONN = Symbol('buddies.conn');
type ConnSocket = WebSocket & { [CONN]?: Conn };
const recKey = (userId: string) => `rec:${userId}`;

function checkLimits(l: GatewayLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`gateway limit ${k} must be a positive number, got ${v}`);
  }
  if (l.hardFrameBytes < l.maxFrameBytes) throw new RangeError(`gateway limit hardFrameBytes (${l.hardFrameBytes}) must be >= maxFrameBytes (${l.maxFrameBytes})`);
  if (!Number.isInteger(l.burst)) throw new RangeError(`gateway limit burst must be an integer, got ${l.burst}`);
}

const errorBody = (err: GatewayError) => JSON.stringify({ error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } });

/**
 * Starts a gateway: connects its producer, listens, reads the recommendations topic up to its end, then resolves.
 * While it catches up, `/healthz` answers and `/readyz` and WebSocket upgrades answer 503.
 */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const limits: GatewayLimits = { ...DEFAULT_GATEWAY_LIMITS, ...opts.limits };
  checkLimits(limits);
  const verifier: TokenVerifier = createTokenVerifier(opts.auth);
  const validator: EventValidator = createEventValidator(opts.schemasDir);
  const log = opts.log ?? (() => {});
  const origins = new Set(opts.origins ?? []);
  const conns = new Set<Conn>();
  const recSubs = new Map<string, Set<Conn>>();
  const metricsSubs = new Set<Conn>();
  const heartbeatSlots = Math.max(1, Math.min(HEARTBEAT_SLOTS, Math.floor(limits.heartbeatMs / HEARTBEAT_TICK_MS)));
  const wheel: Set<Conn>[] = Array.from({ length: heartbeatSlots }, () => new Set<Conn>());
  let nextId = 1;
  let coalescedTotal = 0;
  let slowConsumers = 0;
  let closing = false;
  let ready = false;

  const lists: LatestLists = createLatestLists({ kafka: opts.kafka, serde: opts.serde, groupPrefix: opts.groupPrefix, log, timeoutMs: opts.catchUpTimeoutMs });
  const producer: TypedProducer = createTypedProducer({ kafka: opts.kafka, serde: opts.serde });
  const sink: EventSink = createEventSink({ producer, maxPending: limits.maxPendingEvents, log });
  const countSubs = (channel: Channel) => (channel === 'metrics' ? metricsSubs.size : [...recSubs.values()].reduce((n, s) => n + s.size, 0));
  const metrics: GatewayMetrics = createGatewayMetrics({
    connections: () => conns.size,
    subscriptions: countSubs,
    bufferedBytes: () => [...conns].reduce((n, c) => n + c.queue.bufferedBytes, 0),
    queuedMessages: () => [...conns].reduce((n, c) => n + c.queue.queued, 0),
    latestLists: () => lists.size,
    pendingEvents: () => sink.pending,
  });
  const readiness = createReadiness(opts.readiness ?? []);

  // ------------------------------------------------------------------ sending

  const send = (c: Conn, data: string, key?: string, meta?: PushMeta): void => {
    if (c.closed) return;
    const r = c.queue.push({ data, key, meta });
    if (r === 'coalesced') {
      coalescedTotal++;
      metrics.coalesced(meta?.channel ?? 'recommendations');
    } else if (r === 'overflow') {
      slowConsumers++;
      metrics.dropped('slow_consumer');
      closeConn(c, CLOSE_CODES.slowConsumer, 'slow_consumer');
    }
  };
  const sendError = (c: Conn, err: GatewayError, id?: string): void => {
    metrics.error(err.code);
    send(c, JSON.stringify({ type: 'error', code: err.code, message: err.message, ...(id === undefined ? {} : { id }), ...(err.field === undefined ? {} : { field: err.field }) }));
  };
  const ack = (c: Conn, of: string, id?: string) => send(c, JSON.stringify(id === undefined ? { type: 'ack', of } : { type: 'ack', of, id }));

  const unsubscribeAll = (c: Conn) => {
    for (const key of c.subs) {
      if (key === 'metrics') metricsSubs.delete(c);
      else {
        const userId = key.slice(4);
        const set = recSubs.get(userId);
        set?.delete(c);
        if (set?.size === 0) recSubs.delete(userId);
      }
    }
    c.subs.clear();
  };

  function closeConn(c: Conn, code: number, reason: string): void {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.authTimer);
    clearTimeout(c.expiryTimer);
    unsubscribeAll(c);
    c.queue.close();
    conns.delete(c);
    wheel[c.id % heartbeatSlots]!.delete(c);
    c.ws.close(code, reason);
  }

  const fatal = (c: Conn, err: GatewayError, closeCode: number) => {
    sendError(c, err);
    closeConn(c, closeCode, err.code);
  };

  // ------------------------------------------------------------------ pushes

  const unlisten = lists.onList((entry: LatestList) => {
    const subs = recSubs.get(entry.userId);
    if (!subs) return;
    for (const c of subs) send(c, entry.frame, recKey(entry.userId), { channel: 'recommendations', writtenAt: entry.writtenAt });
  });
  const unsubscribeMetrics = opts.metrics?.subscribe((s: MetricsSnapshot) => {
    if (metricsSubs.size === 0) return;
    const data = JSON.stringify({ ...s, type: 'metrics' });
    for (const c of metricsSubs) send(c, data, 'metrics', { channel: 'metrics' });
  });

  // ------------------------------------------------------------------ auth

  const armExpiry = (c: Conn) => {
    clearTimeout(c.expiryTimer);
    const left = (c.principal?.expiresAt ?? 0) - Date.now();
    if (left <= 0) {
      fatal(c, new GatewayError('token_expired', 'the token expired: reconnect with a new one (or send a new auth before it expires)'), CLOSE_CODES.unauthorized);
      return;
    }
    c.expiryTimer = setTimeout(() => armExpiry(c), Math.min(left, MAX_TIMER_MS));
    c.expiryTimer.unref();
  };

  const authenticate = (c: Conn, token: string): Promise<void> =>
    verifier.verify(token).then(
      (p) => {
        if (c.closed) return;
        if (c.principal && c.principal.userId !== p.userId) {
          sendError(c, new GatewayError('forbidden', `a connection stays with its user '${c.principal.userId}': open a new one for '${p.userId}'`));
          return;
        }
        c.principal = p;
        clearTimeout(c.authTimer);
        armExpiry(c);
        ack(c, 'auth');
      },
      (err: unknown) => {
        if (c.closed) return;
        const e = err instanceof GatewayError ? err : new GatewayError('bad_token', 'the token does not verify');
        if (c.principal) sendError(c, e); // a refresh that failed: the current token stands until it expires
        else fatal(c, e, CLOSE_CODES.unauthorized);
      },
    );

  // ------------------------------------------------------------------ client messages

  const produce = <K extends 'listens' | 'feedback'>(c: Conn, topic: K, value: K extends 'listens' ? ListenEvent : FeedbackEvent, of: 'listen' | 'feedback', id?: string) => {
    const record = { key: value.userId, value } as OutRecord<K>;
    sink.submit(topic, [record]).then(
      () => { metrics.events(topic, 1); ack(c, of, id); },
      (err: unknown) => sendError(c, err instanceof GatewayError ? err : new GatewayError('unavailable', 'Kafka did not take the event: retry later'), id),
    );
  };

  const handleFrame = (c: Conn, frame: ClientFrame): void => {
    if (frame.type === 'auth') {
      c.authPending = authenticate(c, frame.token).finally(() => { c.authPending = undefined; });
      return;
    }
    const p = c.principal;
    if (!p) {
      fatal(c, new GatewayError('unauthorized', `authenticate first: send {"type":"auth","token":"..."} (got '${frame.type}')`), CLOSE_CODES.unauthorized);
      return;
    }
    const id = 'id' in frame ? frame.id : undefined;
    switch (frame.type) {
      case 'ping':
        send(c, JSON.stringify(id === undefined ? { type: 'pong' } : { type: 'pong', id }));
        return;
      case 'subscribe': {
        let key: string;
        if (frame.channel === 'metrics') {
          if (p.role !== 'operator') return sendError(c, new GatewayError('forbidden_channel', 'the metrics channel needs an operator token'), id);
          if (!opts.metrics) return sendError(c, new GatewayError('unavailable', 'this gateway has no metrics source'), id);
          key = 'metrics';
        } else {
          const target = frame.userId ?? p.userId;
          if (target !== p.userId && p.role !== 'operator') return sendError(c, new GatewayError('forbidden', `the list of '${target}' needs an operator token (yours is '${p.userId}')`), id);
          key = recKey(target);
        }
        if (!c.subs.has(key)) {
          if (c.subs.size >= limits.maxSubscriptions) return sendError(c, new GatewayError('forbidden', `at most ${limits.maxSubscriptions} subscriptions per connection`), id);
          c.subs.add(key);
          if (key === 'metrics') metricsSubs.add(c);
          else {
            const userId = key.slice(4);
            let set = recSubs.get(userId);
            if (!set) recSubs.set(userId, (set = new Set()));
            set.add(c);
          }
        }
        ack(c, 'subscribe', id);
        if (key === 'metrics') {
          const s = opts.metrics?.latest();
          if (s) send(c, JSON.stringify({ ...s, type: 'metrics' }), 'metrics', { channel: 'metrics' });
        } else {
          const entry = lists.get(key.slice(4));
          if (entry) send(c, entry.frame, key, { channel: 'recommendations' });
        }
        return;
      }
      case 'unsubscribe': {
        const key = frame.channel === 'metrics' ? 'metrics' : recKey(frame.userId ?? p.userId);
        if (c.subs.delete(key)) {
          if (key === 'metrics') metricsSubs.delete(c);
          else {
            const set = recSubs.get(key.slice(4));
            set?.delete(c);
            if (set?.size === 0) recSubs.delete(key.slice(4));
          }
        }
        ack(c, 'unsubscribe', id);
        return;
      }
      case 'listen':
      case 'feedback': {
        try {
          if (frame.type === 'listen') produce(c, 'listens', validator.listen(frame.event, p, 'event'), 'listen', id);
          else produce(c, 'feedback', validator.feedback(frame.event, p, 'event'), 'feedback', id);
        } catch (err) {
          if (err instanceof GatewayError) sendError(c, err, id);
          else throw err;
        }
        return;
      }
    }
  };

  const onMessage = (c: Conn, data: RawData, isBinary: boolean): void => {
    c.alive = true;
    if (c.closed) return;
    if (!c.bucket.take(Date.now())) {
      metrics.dropped('rate_limited');
      // one error per time the bucket runs dry, so a flood does not turn into a flood of errors
      if (!c.rateNotified) {
        c.rateNotified = true;
        sendError(c, new GatewayError('rate_limited', `more than ${limits.ratePerS} messages/s (burst ${limits.burst}): messages are dropped until the rate falls`));
      }
      return;
    }
    c.rateNotified = false;
    // binaryType 'nodebuffer' (the default): one Buffer per message, fragments joined
    const buf = data as Buffer;
    const bytes = buf.length;
    if (bytes > limits.maxFrameBytes) return sendError(c, new GatewayError('frame_too_large', `frame of ${bytes} bytes > ${limits.maxFrameBytes}`));
    if (isBinary) return sendError(c, new GatewayError('malformed_frame', 'binary frame: the protocol is JSON text frames'));
    const parsed = parseClientFrame(buf.toString('utf8'));
    if ('error' in parsed) return sendError(c, parsed.error, parsed.id);
    // frames that arrive while a token is verified wait for it, so `auth` then `subscribe` works without waiting for the ack
    if (c.authPending && parsed.frame.type !== 'auth') {
      void c.authPending.then(() => { if (!c.closed) handleFrame(c, parsed.frame); });
      return;
    }
    handleFrame(c, parsed.frame);
  };

  // ------------------------------------------------------------------ WebSocket upgrade

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.hardFrameBytes, perMessageDeflate: false, clientTracking: false });

  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined || origins.has('*') || origins.has(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  const rejectUpgrade = (socket: Duplex, err: GatewayError): void => {
    metrics.error(err.code);
    metrics.http('stream', err.status);
    const body = errorBody(err);
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

  // shared by every connection: no closures per connection for its events (`this` is the socket)
  const onWrite = (m: OutMessage<PushMeta>): void => {
    const meta = m.meta;
    if (!meta?.channel) return;
    metrics.push(meta.channel);
    if (meta.writtenAt !== undefined) metrics.pushLatency((Date.now() - meta.writtenAt) / 1000);
  };
  function onWsMessage(this: ConnSocket, data: RawData, isBinary: boolean): void {
    const c = this[CONN];
    if (c) onMessage(c, data, isBinary);
  }
  function onWsPong(this: ConnSocket): void {
    const c = this[CONN];
    if (c) c.alive = true;
  }
  function onWsClose(this: ConnSocket): void {
    const c = this[CONN];
    if (c) closeConn(c, CLOSE_CODES.goingAway, '');
  }
  // a frame above hardFrameBytes, a protocol violation: ws closes the connection itself
  function onWsError(this: ConnSocket, err: Error & { code?: string }): void {
    const c = this[CONN];
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') metrics.error('frame_too_large');
    else metrics.error('malformed_frame');
    if (c) closeConn(c, CLOSE_CODES.tooBig, '');
  }

  const accept = (ws: WebSocket, principal: Principal | undefined): void => {
    const now = Date.now();
    const c: Conn = {
      id: nextId++,
      ws,
      queue: createSendQueue<PushMeta>({
        transport: { write: (data, done) => ws.send(data, done) },
        maxBufferedBytes: limits.sendBufferBytes,
        maxQueued: limits.maxQueuedMessages,
        onWrite,
      }),
      bucket: createTokenBucket({ ratePerS: limits.ratePerS, burst: limits.burst, now }),
      subs: new Set(),
      principal,
      authPending: undefined,
      alive: true,
      rateNotified: false,
      closed: false,
      authTimer: undefined,
      expiryTimer: undefined,
    };
    conns.add(c);
    wheel[c.id % heartbeatSlots]!.add(c);
    metrics.connectionOpened();
    metrics.http('stream', 101);
    (ws as ConnSocket)[CONN] = c;
    ws.on('message', onWsMessage);
    ws.on('pong', onWsPong);
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
    if (principal) armExpiry(c);
    else {
      c.authTimer = setTimeout(() => {
        if (!c.principal && !c.authPending) fatal(c, new GatewayError('auth_timeout', `no auth message within ${limits.authTimeoutMs} ms`), CLOSE_CODES.authTimeout);
      }, limits.authTimeoutMs);
      c.authTimer.unref();
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0];
    if (path !== STREAM_PATH) return rejectUpgrade(socket, new GatewayError('not_found', `no WebSocket at ${path}: connect to ${STREAM_PATH}`));
    if (!originAllowed(req)) return rejectUpgrade(socket, new GatewayError('forbidden', `origin ${req.headers.origin} is not allowed (BUDDIES_GATEWAY_ORIGINS)`));
    if (closing || !ready) return rejectUpgrade(socket, new GatewayError('unavailable', closing ? 'the gateway is shutting down' : 'the gateway is still reading the latest lists: retry shortly'));
    if (conns.size >= limits.maxConnections) return rejectUpgrade(socket, new GatewayError('unavailable', `this instance holds its maximum of ${limits.maxConnections} connections: try another`));
    const token = bearerToken(req.headers.authorization);
    const upgrade = (principal: Principal | undefined) => {
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, principal));
    };
    if (token === undefined) {
      if (req.headers.authorization !== undefined) return rejectUpgrade(socket, new GatewayError('bad_token', 'the Authorization header is not "Bearer TOKEN"'));
      return upgrade(undefined);
    }
    verifier.verify(token).then(upgrade, (err: unknown) => rejectUpgrade(socket, err instanceof GatewayError ? err : new GatewayError('bad_token', 'the token does not verify')));
  };

  // ------------------------------------------------------------------ HTTP

  const routeOf = (path: string): string => {
    if (path === EVENTS_PATH) return 'events';
    if (/^\/v1\/users\/[^/]+\/recommendations$/.test(path)) return 'user_recommendations';
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1);
    if (path === '/' || path.startsWith(DASHBOARD_PATH) || path === '/dashboard') return 'dashboard';
    if (path === STREAM_PATH) return 'stream';
    return 'other';
  };

  const readBody = (req: IncomingMessage): Promise<Buffer> => new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxBodyBytes) {
      reject(new GatewayError('frame_too_large', `body of ${declared} bytes > ${limits.maxBodyBytes}`));
      return;
    }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (b: Buffer) => {
      if (n > limits.maxBodyBytes) return; // over the limit: the rest is read and dropped, and the 413 goes out
      n += b.length;
      if (n > limits.maxBodyBytes) {
        chunks.length = 0;
        reject(new GatewayError('frame_too_large', `body above ${limits.maxBodyBytes} bytes`));
        return;
      }
      chunks.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

  const authorize = async (req: IncomingMessage): Promise<Principal> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new GatewayError(req.headers.authorization === undefined ? 'unauthorized' : 'bad_token', 'send "Authorization: Bearer TOKEN"');
    return verifier.verify(token);
  };

  const postEvents = async (req: IncomingMessage): Promise<number> => {
    const p = await authorize(req);
    const body = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new GatewayError('malformed_frame', 'the body is not JSON');
    }
    const events = (json as { events?: unknown } | null)?.events;
    if (typeof json !== 'object' || json === null || !Array.isArray(events)) throw new GatewayError('malformed_frame', 'the body must be {"events":[...]}');
    if (events.length > limits.maxEventsPerRequest) throw new GatewayError('frame_too_large', `${events.length} events > ${limits.maxEventsPerRequest} per request`);
    const listens: OutRecord<'listens'>[] = [];
    const feedback: OutRecord<'feedback'>[] = [];
    events.forEach((item: unknown, i) => {
      const at = `events[${i}]`;
      const o = item as { type?: unknown; event?: unknown } | null;
      if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new GatewayError('bad_event', `${at} must be {"type":..., "event":{...}}`, at);
      if (o.type === 'listen') {
        const e = validator.listen(o.event, p, `${at}.event`);
        listens.push({ key: e.userId, value: e });
      } else if (o.type === 'feedback') {
        const e = validator.feedback(o.event, p, `${at}.event`);
        feedback.push({ key: e.userId, value: e });
      } else {
        throw new GatewayError('unknown_type', `${at}.type must be listen or feedback, got ${JSON.stringify(o.type) ?? 'nothing'}`, `${at}.type`);
      }
    });
    await Promise.all([sink.submit('listens', listens), sink.submit('feedback', feedback)]);
    if (listens.length) metrics.events('listens', listens.length);
    if (feedback.length) metrics.events('feedback', feedback.length);
    return events.length;
  };

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routeOf(path);
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    const answer = (status: number, body: string | Buffer, type = 'application/json', headers: Record<string, string> = {}) => {
      metrics.http(route, status);
      if (origin !== undefined && originAllowed(req) && path.startsWith('/v1/')) {
        headers['access-control-allow-origin'] = origin;
        headers.vary = 'Origin';
      }
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    };
    const fail = (err: GatewayError, headers: Record<string, string> = {}) => {
      metrics.error(err.code);
      answer(err.status, errorBody(err), 'application/json', headers);
    };
    const only = (...methods: string[]): boolean => {
      if (methods.includes(method)) return true;
      fail(new GatewayError('method_not_allowed', `${method} ${path}: use ${methods.join(' or ')}`), { allow: methods.join(', ') });
      return false;
    };
    try {
      if (path.startsWith('/v1/') && !originAllowed(req)) return fail(new GatewayError('forbidden', `origin ${origin} is not allowed (BUDDIES_GATEWAY_ORIGINS)`));
      if (method === 'OPTIONS' && path.startsWith('/v1/')) {
        return answer(204, '', 'text/plain', {
          'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'Authorization, Content-Type', 'access-control-max-age': '600',
        });
      }
      switch (route) {
        case 'healthz': {
          if (!only('GET', 'HEAD')) return;
          const live = !closing && (lists.live || !ready);
          return answer(live ? 200 : 503, JSON.stringify({ live, connections: conns.size }));
        }
        case 'readyz': {
          if (!only('GET', 'HEAD')) return;
          const r: ReadinessResult = await readiness();
          const ok = r.ready && ready && lists.live && !closing;
          return answer(ok ? 200 : 503, JSON.stringify({ ready: ok, latestLists: ready ? (lists.live ? null : 'the consumer of the recommendations topic stopped') : 'catching up', checks: r.checks }));
        }
        case 'metrics': {
          if (!only('GET')) return;
          return answer(200, await metrics.registry.metrics(), metrics.registry.contentType);
        }
        case 'user_recommendations': {
          if (!only('GET')) return;
          const p = await authorize(req);
          let userId: string;
          try {
            userId = decodeURIComponent(path.split('/')[3]!);
          } catch {
            throw new GatewayError('not_found', `no user ${path.split('/')[3]}: the id is not URL-encoded text`);
          }
          if (userId !== p.userId && p.role !== 'operator') throw new GatewayError('forbidden', `the list of '${userId}' needs an operator token (yours is '${p.userId}')`);
          const entry = lists.get(userId);
          if (!entry) throw new GatewayError('not_found', `no list for '${userId}' yet`);
          return answer(200, entry.frame);
        }
        case 'events': {
          if (!only('POST')) return;
          const accepted = await postEvents(req);
          return answer(202, JSON.stringify({ accepted }));
        }
        case 'dashboard': {
          if (!only('GET', 'HEAD')) return;
          if (path === '/' || path === '/dashboard') return answer(302, '', 'text/plain', { location: DASHBOARD_PATH });
          const asset = opts.assets?.get(path === DASHBOARD_PATH ? `${DASHBOARD_PATH}index.html` : path);
          if (!asset) throw new GatewayError('not_found', opts.assets ? `no file ${path}` : 'this gateway serves no dashboard');
          return answer(200, asset.body, asset.contentType, { 'cache-control': 'no-cache' });
        }
        case 'stream':
          throw new GatewayError('malformed_frame', `${STREAM_PATH} is a WebSocket: send an Upgrade request`);
        default:
          throw new GatewayError('not_found', `no route ${method} ${path}`);
      }
    } catch (err) {
      if (err instanceof GatewayError) return fail(err);
      log(`gateway: ${method} ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
      return fail(new GatewayError('unavailable', 'internal error: retry later'));
    }
  };

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch(() => { if (!res.headersSent) { res.writeHead(500); res.end(); } });
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_err, socket) => socket.destroy());

  // ------------------------------------------------------------------ lifecycle

  const timers: { heartbeat?: NodeJS.Timeout } = {};
  let closed: Promise<void> | undefined;
  const shutdown = (): Promise<void> => (closed ??= (async () => {
    closing = true;
    clearInterval(timers.heartbeat);
    unlisten();
    unsubscribeMetrics?.();
    const sockets = [...conns].map((c) => c.ws);
    for (const c of [...conns]) closeConn(c, CLOSE_CODES.goingAway, 'server shutting down');
    // give clients a moment to answer the close frame, then cut the rest
    await Promise.race([
      Promise.all(sockets.map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise<void>((r) => ws.once('close', () => r()))))),
      new Promise<void>((r) => setTimeout(r, 1000).unref()),
    ]);
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await sink.close().catch(() => {});
    await producer.disconnect().catch(() => {});
    await lists.stop().catch(() => {});
    for (const check of opts.readiness ?? []) await (check as { close?: () => Promise<void> }).close?.().catch(() => {});
  })());

  try {
    await producer.connect();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 8080, opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    await lists.start();
  } catch (err) {
    await shutdown();
    throw err;
  }
  ready = true;
  // one slot of the wheel per tick: each connection is pinged once per heartbeatMs, and closed if it did not answer
  // the ping of its previous turn (deleting the current entry while iterating a Set is safe)
  let heartbeatTick = 0;
  timers.heartbeat = setInterval(() => {
    const slot = wheel[heartbeatTick]!;
    heartbeatTick = (heartbeatTick + 1) % heartbeatSlots;
    for (const c of slot) {
      if (!c.alive) {
        closeConn(c, CLOSE_CODES.heartbeat, 'no pong');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, Math.max(1, Math.round(limits.heartbeatMs / heartbeatSlots)));
  timers.heartbeat.unref();

  const port = (server.address() as AddressInfo).port;
  const host = opts.host === undefined || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    port,
    url: `http://${host}:${port}`,
    registry: metrics.registry,
    stats: () => ({
      connections: conns.size,
      subscriptions: { recommendations: countSubs('recommendations'), metrics: countSubs('metrics') },
      latestLists: lists.size,
      pendingEvents: sink.pending,
      coalesced: coalescedTotal,
      slowConsumers,
      perConnection: [...conns].map((c) => ({
        id: c.id, userId: c.principal?.userId ?? null, subscriptions: c.subs.size, bufferedBytes: c.queue.bufferedBytes, socketBufferedAmount: c.ws.bufferedAmount,
        queued: c.queue.queued, queuedBytes: c.queue.queuedBytes,
      })),
    }),
    close: shutdown,
  };
}
