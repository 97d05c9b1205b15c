import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FeedbackEvent, RecommendationList } from '../streams/index.js';
import { backoffDelay, createGatewayClient, GatewayError, type GatewayClient } from './gateway-client.js';

/**
 * A stand-in speaking the gateway protocol (docs/gateway.md), small enough to script each case: the client's own
 * logic (handshake, acks, retries, reconnects) is what is under test here; the integration test
 * test/integration/simulate-gateway.int.test.ts runs the client against the real gateway.
 */
interface FakeGateway {
  readonly url: string;
  readonly frames: Array<Record<string, unknown>>;
  readonly sockets: Set<WebSocket>;
  connections: number;
  /** Answer to a client frame; default: ack with its id. */
  answer: (frame: Record<string, unknown>, ws: WebSocket) => void;
  close(): Promise<void>;
}

const LIST: RecommendationList = {
  recommendationId: 'r1', userId: 'u1', modelVersion: 'buddies-1', coldStart: false, generatedAt: 1000,
  items: [{ playlistId: 'p1', rank: 1, score: 0.9, explanation: { buddyId: 'u2', tasteMatch: 0.8, reason: 'buddy' } }],
};

async function fakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({
    port: 0,
    path: '/v1/stream',
    verifyClient: (info, done) => {
      const auth = info.req.headers.authorization;
      if (auth === undefined || auth === 'Bearer good') return done(true);
      done(false, 401, 'Unauthorized', { 'Content-Type': 'application/json' });
    },
  });
  await new Promise((r) => wss.once('listening', r));
  const g: FakeGateway = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream`,
    frames: [], sockets: new Set(), connections: 0,
    answer: (f, ws) => {
      if (f.type === 'ping') return ws.send(JSON.stringify({ type: 'pong', id: f.id }));
      ws.send(JSON.stringify({ type: 'ack', of: f.type, id: f.id }));
      if (f.type === 'subscribe') ws.send(JSON.stringify({ type: 'recommendations', ...LIST }));
    },
    close: () => new Promise<void>((r) => {
      for (const s of g.sockets) s.terminate();
      wss.close(() => r());
    }),
  };
  wss.on('connection', (ws, req) => {
    g.connections++;
    g.sockets.add(ws);
    ws.on('close', () => g.sockets.delete(ws));
    let authed = req.headers.authorization !== undefined;
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString()) as Record<string, unknown>;
      g.frames.push(f);
      if (!authed) {
        if (f.type === 'auth' && f.token === 'good') {
          authed = true;
          return ws.send(JSON.stringify({ type: 'ack', of: 'auth' })); // as the gateway does: no id on the auth ack
        }
        ws.send(JSON.stringify({ type: 'error', code: 'bad_token', message: 'bad token' }));
        return ws.close(4401, 'bad_token');
      }
      g.answer(f, ws);
    });
  });
  return g;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const feedback = (eventId: string): FeedbackEvent => ({
  eventId, userId: 'u1', kind: 'CLICK', playlistId: 'p1', trackId: null, recommendationId: 'r1', position: 1, eventTime: 5,
});

let gateway: FakeGateway | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  await client?.close();
  await gateway?.close();
  client = undefined;
  gateway = undefined;
});

describe('gateway client', () => {
  it('authenticates by header, subscribes, receives the pushed list and gets acks for feedback and pings', async () => {
    gateway = await fakeGateway();
    const lists: RecommendationList[] = [];
    client = createGatewayClient({ url: gateway.url, token: 'good', onList: (l) => lists.push(l) });
    await client.connect();
    expect(client.state).toBe('open');
    expect(gateway.frames[0]).toMatchObject({ type: 'subscribe', channel: 'recommendations' });
    await until(() => lists.length === 1, 'the pushed list');
    expect(lists[0]).toEqual(LIST);
    expect(client.latest).toEqual(LIST);
    await client.feedback(feedback('e1'));
    expect(gateway.frames.at(-1)).toMatchObject({ type: 'feedback', event: { eventId: 'e1', kind: 'CLICK' } });
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    expect(client.stats).toMatchObject({ lists: 1, failed: 0 });
  });

  it('authenticates by first message when asked (the browser way)', async () => {
    gateway = await fakeGateway();
    client = createGatewayClient({ url: gateway.url, token: 'good', authVia: 'message' });
    await client.connect();
    expect(gateway.frames.map((f) => f.type)).toEqual(['auth', 'subscribe']);
  });

  it('rejects connect with the code of a refused upgrade and does not reconnect', async () => {
    gateway = await fakeGateway();
    client = createGatewayClient({ url: gateway.url, token: 'bad' });
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('unauthorized');
    expect(client.state).toBe('closed');
    await expect(client.feedback(feedback('e2'))).rejects.toMatchObject({ code: 'closed' });
  });

  it('ends on a bad_token error frame after message auth', async () => {
    gateway = await fakeGateway();
    client = createGatewayClient({ url: gateway.url, token: 'nope', authVia: 'message' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'bad_token' });
    expect(gateway.connections).toBe(1);
  });

  it('fails the first connect at once when nothing listens', async () => {
    const g = await fakeGateway();
    const url = g.url;
    await g.close();
    client = createGatewayClient({ url, token: 'good' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'connect_failed' });
  });

  it('reconnects after a drop, subscribes again, and delivers a request made while down', async () => {
    gateway = await fakeGateway();
    const lists: RecommendationList[] = [];
    let tokens = 0;
    client = createGatewayClient({
      url: gateway.url, token: () => { tokens++; return 'good'; }, onList: (l) => lists.push(l), reconnect: { initialMs: 20, maxMs: 50 },
    });
    await client.connect();
    await until(() => lists.length === 1, 'the first list');
    const g = gateway;
    for (const s of g.sockets) s.terminate();
    await until(() => client!.state !== 'open', 'the drop');
    const sent = client.feedback(feedback('e3'));
    await sent;
    await until(() => lists.length === 2, 'the list pushed again after the reconnect');
    expect(g.connections).toBe(2);
    expect(tokens).toBe(2);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(g.frames.filter((f) => f.type === 'subscribe')).toHaveLength(2);
    expect(g.frames.filter((f) => f.type === 'feedback').map((f) => (f.event as FeedbackEvent).eventId)).toEqual(['e3']);
  });

  it('drops and re-establishes a connection on which the server went silent', async () => {
    gateway = await fakeGateway();
    const lists: RecommendationList[] = [];
    client = createGatewayClient({ url: gateway.url, token: 'good', heartbeatTimeoutMs: 150, reconnect: { initialMs: 10, maxMs: 20 }, onList: (l) => lists.push(l) });
    await client.connect();
    // the stand-in never pings: after 150 ms of silence the client reconnects, and gets its list pushed again
    await until(() => gateway!.connections >= 2 && lists.length >= 2, 'a reconnect after the silence');
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('keeps a connection on which the server pings', async () => {
    gateway = await fakeGateway();
    const g = gateway;
    let pings = 0;
    const pinger = setInterval(() => { for (const s of g.sockets) { s.ping(); pings++; } }, 30);
    try {
      client = createGatewayClient({ url: g.url, token: 'good', heartbeatTimeoutMs: 200 });
      await client.connect();
      const from = pings;
      await until(() => pings - from >= 20, '20 pings (600 ms, three times the timeout)');
      expect(g.connections).toBe(1);
      expect(client.state).toBe('open');
    } finally {
      clearInterval(pinger);
    }
  });

  it('resends a request whose ack was lost with the connection (at least once)', async () => {
    gateway = await fakeGateway();
    const g = gateway;
    let dropped = false;
    g.answer = (f, ws) => {
      if (f.type === 'listen' && !dropped) {
        dropped = true;
        return ws.terminate();
      }
      ws.send(JSON.stringify({ type: 'ack', of: f.type, id: f.id }));
    };
    client = createGatewayClient({ url: g.url, token: 'good', reconnect: { initialMs: 10, maxMs: 20 } });
    await client.connect();
    await client.listen({ eventId: 'l1', userId: 'u1', trackId: 't', playlistId: null, source: 'LIBRARY', msPlayed: 1, trackDurationMs: 2, eventTime: 3, recommendationId: null });
    expect(g.frames.filter((f) => f.type === 'listen')).toHaveLength(2);
  });

  it('retries a rate-limited request and fails a bad one with its code', async () => {
    gateway = await fakeGateway();
    let limited = 0;
    gateway.answer = (f, ws) => {
      const event = f.event as FeedbackEvent | undefined;
      if (event?.eventId === 'limited' && limited++ < 2) return ws.send(JSON.stringify({ type: 'error', code: 'rate_limited', message: 'slow down', id: f.id }));
      if (event?.eventId === 'bad') return ws.send(JSON.stringify({ type: 'error', code: 'bad_event', message: 'event.kind', id: f.id }));
      ws.send(JSON.stringify({ type: 'ack', of: f.type, id: f.id }));
    };
    client = createGatewayClient({ url: gateway.url, token: 'good', reconnect: { initialMs: 5, maxMs: 10 } });
    await client.connect();
    await client.feedback(feedback('limited'));
    expect(limited).toBe(3);
    await expect(client.feedback(feedback('bad'))).rejects.toMatchObject({ code: 'bad_event', message: 'event.kind' });
    expect(client.stats.errors).toEqual({ rate_limited: 2, bad_event: 1 });
  });

  it('times out a request that never gets its ack, after its attempts', async () => {
    gateway = await fakeGateway();
    gateway.answer = (f, ws) => { if (f.type === 'subscribe') ws.send(JSON.stringify({ type: 'ack', of: f.type, id: f.id })); };
    client = createGatewayClient({ url: gateway.url, token: 'good', ackTimeoutMs: 30, maxAttempts: 2, reconnect: { initialMs: 5, maxMs: 5 } });
    await client.connect();
    await expect(client.feedback(feedback('lost'))).rejects.toMatchObject({ code: 'ack_timeout' });
    expect(gateway.frames.filter((f) => f.type === 'feedback')).toHaveLength(2);
  });

  it('bounds what waits: beyond maxPending a request fails at once', async () => {
    gateway = await fakeGateway();
    gateway.answer = (f, ws) => { if (f.type === 'subscribe') ws.send(JSON.stringify({ type: 'ack', of: f.type, id: f.id })); };
    client = createGatewayClient({ url: gateway.url, token: 'good', maxPending: 2, ackTimeoutMs: 60_000 });
    await client.connect();
    const waiting = [client.feedback(feedback('a')), client.feedback(feedback('b'))].map((p) => p.then(() => 'acked', (e: GatewayError) => e.code));
    await expect(client.feedback(feedback('c'))).rejects.toMatchObject({ code: 'queue_full' });
    await client.close();
    expect(await Promise.all(waiting)).toEqual(['closed', 'closed']);
  });

  it('keeps to its rate: requests beyond the burst wait their turn, in order', async () => {
    gateway = await fakeGateway();
    client = createGatewayClient({ url: gateway.url, token: 'good', rate: { perSecond: 50, burst: 2 } });
    await client.connect();
    const t0 = performance.now();
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => client!.feedback(feedback(id))));
    const ms = performance.now() - t0;
    // 2 at once, then 4 more at 50/s: at least 80 ms
    expect(ms).toBeGreaterThanOrEqual(70);
    expect(gateway.frames.filter((f) => f.type === 'feedback').map((f) => (f.event as FeedbackEvent).eventId)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, within its jitter', () => {
    const o = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o, 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, o, 0)).toBe(200);
    expect(backoffDelay(2, { ...o, jitter: 0 }, 0)).toBe(400);
  });
});
