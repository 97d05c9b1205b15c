import { randomBytes, randomUUID } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createGateway, httpCheck, mintToken, serviceChecks, type Gateway, type GatewayLimits, type GatewayOptions, type GatewayStats, type MetricsSnapshot, type MetricsSource,
} from '../../gateway/index.js';
import { createTypedProducer, readTopicSnapshot, type FeedbackEvent, type ListenEvent, type RecommendationList, type TypedProducer } from '../../streams/index.js';
import { waitFor } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

// Issue 11: the gateway over the real protocol, on port 0, against the real Kafka and registry.

const SECRET = 'gateway-integration-test-secret-0123456789';
let bed: TestBed;
let producer: TypedProducer;
const open: Gateway[] = [];
const clients: WebSocket[] = [];

/** A gateway on this test's topics; small limits so the tests reach them quickly. */
async function startGateway(limits: Partial<GatewayLimits> = {}, extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gw = await createGateway({
    kafka: bed.kafka, serde: bed.serde, schemasDir: bed.schemasDir, auth: { secret: SECRET }, port: 0, host: '127.0.0.1', groupPrefix: bed.unique('gw'),
    readiness: serviceChecks({ kafka: bed.kafka, registryUrl: bed.cfg.registry.url, clickhouseUrl: bed.cfg.clickhouse.url }),
    limits: { maxFrameBytes: 4096, hardFrameBytes: 65_536, authTimeoutMs: 500, ratePerS: 5, burst: 10, ...limits },
    ...extra,
  });
  open.push(gw);
  return gw;
}

const token = (userId: string, opts: { operator?: boolean; ttlS?: number; now?: number } = {}) =>
  mintToken({ secret: SECRET, userId, role: opts.operator ? 'operator' : 'user', ttlS: opts.ttlS ?? 600, now: opts.now });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

interface Client {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  send(frame: unknown): void;
  /** The first frame (from `from` on) matching `pred`, waiting for it with a deadline. */
  next(pred: (f: Frame) => boolean, what: string, from?: number, timeoutMs?: number): Promise<Frame>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(gw: Gateway): string {
  return `${gw.url.replace(/^http/, 'ws')}/v1/stream`;
}

async function connect(gw: Gateway, bearer?: string, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(wsUrl(gw), { headers: { ...headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) } });
  clients.push(ws);
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const client: Client = {
    ws, frames, closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async next(pred, what, from = 0, timeoutMs = 20_000) {
      let hit: Frame | undefined;
      await waitFor(() => (hit = frames.slice(from).find(pred)) !== undefined, `${what} (got ${JSON.stringify(frames.slice(from)).slice(0, 400)})`, timeoutMs, 10);
      return hit!;
    },
  };
  return client;
}

/** An upgrade the server refuses: its HTTP status and JSON body. */
function refusedUpgrade(gw: Gateway, headers: Record<string, string>): Promise<{ status: number; body: Frame }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(gw), { headers });
    ws.on('open', () => { ws.close(); reject(new Error('the upgrade was accepted')); });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (b: Buffer) => { body += b.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Frame }));
    });
    ws.on('error', () => {});
  });
}

async function pingPong(gw: Gateway): Promise<void> {
  const c = await connect(gw, await token('prober'));
  const id = randomUUID();
  c.send({ type: 'ping', id });
  await c.next((f) => f.type === 'pong' && f.id === id, 'pong');
  c.ws.close();
}

let seq = 0;
function list(userId: string, items = 3, reasonBytes = 16): RecommendationList {
  seq++;
  return {
    recommendationId: `${userId}-r${seq}`, userId, modelVersion: 'test-v1', coldStart: false, generatedAt: Date.now(), dailyPick: false,
    items: Array.from({ length: items }, (_, i) => ({
      playlistId: `p${seq}-${i}`, rank: i + 1, score: 1 / (i + 1), explanation: { buddyId: 'buddy', tasteMatch: 0.5, reason: 'r'.repeat(reasonBytes) },
    })),
  };
}

async function produceLists(lists: readonly RecommendationList[]): Promise<void> {
  await producer.send('recommendations', lists.map((l) => ({ key: l.userId, value: l })));
}

const get = async (gw: Gateway, path: string, bearer?: string) => {
  const res = await fetch(`${gw.url}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  return { status: res.status, body: (await res.json()) as Frame };
};

beforeAll(async () => {
  bed = await createTestBed(['listens', 'feedback', 'recommendations']);
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
});

afterAll(async () => {
  for (const ws of clients) ws.terminate();
  for (const gw of open) await gw.close();
  await producer?.disconnect();
});

describe('the gateway over the real protocol', () => {
  it('answers a bad, an expired or a missing token with its code, at the upgrade and in-protocol, and stays up', async () => {
    const gw = await startGateway();
    const bad = await refusedUpgrade(gw, { authorization: `Bearer ${await mintToken({ secret: `${SECRET}-wrong`, userId: 'ana' })}` });
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'bad_token' } } });
    const expired = await refusedUpgrade(gw, { authorization: `Bearer ${await token('ana', { ttlS: 10, now: Date.now() - 60_000 })}` });
    expect(expired).toMatchObject({ status: 401, body: { error: { code: 'token_expired' } } });
    expect(await refusedUpgrade(gw, { authorization: 'Basic abc' })).toMatchObject({ status: 401, body: { error: { code: 'bad_token' } } });

    // browsers: the token as the first message
    const c1 = await connect(gw);
    c1.send({ type: 'auth', token: 'not-a-jwt' });
    expect(await c1.next((f) => f.type === 'error', 'error')).toMatchObject({ code: 'bad_token' });
    expect((await c1.closed).code).toBe(4401);
    const c2 = await connect(gw);
    c2.send({ type: 'auth', token: await token('ana', { ttlS: 10, now: Date.now() - 60_000 }) });
    expect(await c2.next((f) => f.type === 'error', 'error')).toMatchObject({ code: 'token_expired' });
    expect((await c2.closed).code).toBe(4401);
    const c3 = await connect(gw);
    c3.send({ type: 'subscribe', channel: 'recommendations' });
    expect(await c3.next((f) => f.type === 'error', 'error')).toMatchObject({ code: 'unauthorized' });
    expect((await c3.closed).code).toBe(4401);
    const c4 = await connect(gw); // says nothing
    expect(await c4.next((f) => f.type === 'error', 'error')).toMatchObject({ code: 'auth_timeout' });
    expect((await c4.closed).code).toBe(4408);
    // auth then subscribe at once: the subscribe waits for the token's verification
    const c5 = await connect(gw);
    c5.send({ type: 'auth', token: await token('ana') });
    c5.send({ type: 'subscribe', channel: 'recommendations', id: 's1' });
    await c5.next((f) => f.type === 'ack' && f.of === 'subscribe' && f.id === 's1', 'subscribe ack');
    expect(c5.frames[0]).toEqual({ type: 'ack', of: 'auth' });
    // a fresh token for the same user renews the connection; another user's does not take it over
    c5.send({ type: 'auth', token: await token('ana', { ttlS: 1200 }) });
    await c5.next((f) => f.type === 'ack' && f.of === 'auth', 'renewal ack', 1);
    c5.send({ type: 'auth', token: await token('bo') });
    expect(await c5.next((f) => f.type === 'error', 'takeover refused')).toMatchObject({ code: 'forbidden' });
    c5.send({ type: 'ping', id: 'still' });
    await c5.next((f) => f.type === 'pong' && f.id === 'still', 'pong after the refused takeover');

    // expiry during the connection: a token with 2-3 s left
    const c6 = await connect(gw, await token('ana', { ttlS: 3 }));
    expect(await c6.next((f) => f.type === 'error', 'token_expired during the connection', 0, 8000)).toMatchObject({ code: 'token_expired' });
    expect((await c6.closed).code).toBe(4401);

    await pingPong(gw);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    for (const code of ['bad_token', 'token_expired', 'unauthorized', 'auth_timeout']) expect(metrics).toMatch(new RegExp(`buddies_gateway_errors_total\\{code="${code}"\\} [1-9]`));
  });

  it('answers a malformed, oversize or unknown frame and a forbidden channel with its code, and the connection and server stay up', async () => {
    const gw = await startGateway();
    const c = await connect(gw, await token('ana'));
    const errorAfter = async (frame: unknown) => {
      const from = c.frames.length;
      c.send(frame);
      return c.next((f) => f.type === 'error', `an error for ${String(frame).slice(0, 40)}`, from);
    };
    expect(await errorAfter('this is not json')).toMatchObject({ code: 'malformed_frame' });
    expect(await errorAfter({ type: 'explode', id: 'x1' })).toMatchObject({ code: 'unknown_type', id: 'x1' });
    expect(await errorAfter({ type: 'ping', pad: 'x'.repeat(5000) })).toMatchObject({ code: 'frame_too_large' });
    expect(await errorAfter({ type: 'subscribe', channel: 'metrics', id: 'm' })).toMatchObject({ code: 'forbidden_channel', id: 'm' });
    expect(await errorAfter({ type: 'subscribe', channel: 'everything' })).toMatchObject({ code: 'forbidden_channel' });
    expect(await errorAfter({ type: 'subscribe', channel: 'recommendations', userId: 'bo' })).toMatchObject({ code: 'forbidden' });
    expect(await errorAfter({ type: 'feedback', id: 'f', event: { kind: 'CLICK', eventTime: 1 } })).toMatchObject({ code: 'bad_event', id: 'f', field: 'event.eventId' });
    // still the same connection
    const from = c.frames.length;
    c.send({ type: 'ping', id: 'alive' });
    await c.next((f) => f.type === 'pong' && f.id === 'alive', 'pong after the errors', from);

    // beyond the hard limit the ws library closes the connection (1009); the server goes on
    const big = await connect(gw, await token('ana'));
    big.send({ type: 'ping', pad: 'x'.repeat(70_000) });
    expect((await big.closed).code).toBe(1009);
    await pingPong(gw);
    expect((await get(gw, '/healthz')).status).toBe(200);
  });

  it('drops messages over the rate limit with one rate_limited error, and takes them again once the rate falls', async () => {
    const gw = await startGateway({ ratePerS: 5, burst: 10 });
    const c = await connect(gw, await token('ana'));
    for (let i = 0; i < 30; i++) c.send({ type: 'ping', id: `p${i}` });
    await c.next((f) => f.type === 'error' && f.code === 'rate_limited', 'rate_limited');
    await c.next((f) => f.type === 'pong' && f.id === 'p9', 'the 10th pong');
    const after = c.frames.length;
    // the refill at 5/s: poll with a ping until one gets through
    let n = 0;
    await waitFor(() => { c.send({ type: 'ping', id: `again${n++}` }); return c.frames.slice(after).some((f) => f.type === 'pong'); }, 'a pong after the refill', 10_000, 250);
    const pongs = c.frames.filter((f) => f.type === 'pong' && /^p\d+$/.test(f.id as string)).length;
    expect(pongs).toBeLessThanOrEqual(11); // the burst (and at most one refilled token)
    expect(c.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length).toBeLessThanOrEqual(2);
  });

  it('pushes metrics snapshots to operators: the latest at subscribe, then each one the source emits', async () => {
    const listeners = new Set<(s: MetricsSnapshot) => void>();
    let latest: MetricsSnapshot = { at: 1, eventsPerSecond: 3 };
    const source: MetricsSource = {
      latest: () => latest,
      subscribe: (fn) => { listeners.add(fn); return () => { listeners.delete(fn); }; },
      close: async () => {},
    };
    const emit = (s: MetricsSnapshot) => { latest = s; for (const fn of listeners) fn(s); };
    const gw = await startGateway({}, { metrics: source });
    const op = await connect(gw, await token('ops', { operator: true }));
    op.send({ type: 'subscribe', channel: 'metrics', id: 'm' });
    await op.next((f) => f.type === 'metrics' && f.at === 1, 'the latest snapshot at subscribe');
    expect(op.frames.slice(0, 2)).toEqual([{ type: 'ack', of: 'subscribe', id: 'm' }, { type: 'metrics', at: 1, eventsPerSecond: 3 }]);
    emit({ at: 2, eventsPerSecond: 5, byModel: [{ modelVersion: 'v1', ctr: 0.1 }] });
    expect(await op.next((f) => f.type === 'metrics' && f.at === 2, 'the next snapshot')).toEqual({ type: 'metrics', at: 2, eventsPerSecond: 5, byModel: [{ modelVersion: 'v1', ctr: 0.1 }] });
    const user = await connect(gw, await token('ana'));
    user.send({ type: 'subscribe', channel: 'metrics' });
    expect(await user.next((f) => f.type === 'error', 'forbidden_channel')).toMatchObject({ code: 'forbidden_channel' });
    op.send({ type: 'unsubscribe', channel: 'metrics', id: 'u' });
    await op.next((f) => f.type === 'ack' && f.id === 'u', 'unsubscribe ack');
    emit({ at: 3 });
    op.send({ type: 'ping', id: 'after' });
    await op.next((f) => f.type === 'pong' && f.id === 'after', 'pong');
    expect(op.frames.some((f) => f.type === 'metrics' && f.at === 3)).toBe(false);
    await gw.close();
    expect(listeners.size).toBe(0);
  });

  it('refuses browsers from origins not on the allow-list, and connections beyond the limit', async () => {
    const gw = await startGateway({ maxConnections: 1 }, { origins: ['https://app.example'] });
    const t = await token('ana');
    expect(await refusedUpgrade(gw, { origin: 'https://evil.example', authorization: `Bearer ${t}` })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const allowed = await connect(gw, t, { origin: 'https://app.example' });
    expect(await refusedUpgrade(gw, { authorization: `Bearer ${t}` })).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    allowed.ws.close();
    await waitFor(() => gw.stats().connections === 0, 'the connection closed', 5000, 10);
    const same = await connect(gw, t, { origin: gw.url });
    same.ws.close();
  });

  it("pushes a user's own list at subscribe and on every refresh, and never another user's", async () => {
    const gw = await startGateway();
    const users = ['ana', 'bo', 'cy'];
    const cs = await Promise.all(users.map(async (u) => connect(gw, await token(u))));
    cs.forEach((c, i) => c.send({ type: 'subscribe', channel: 'recommendations', id: users[i] }));
    await Promise.all(cs.map((c, i) => c.next((f) => f.type === 'ack' && f.id === users[i], 'subscribe ack')));
    const op = await connect(gw, await token('ops', { operator: true }));
    op.send({ type: 'subscribe', channel: 'recommendations', userId: 'bo', id: 'ob' });
    await op.next((f) => f.type === 'ack' && f.id === 'ob', 'operator ack');

    // five rounds of lists for the three users and two others nobody watches
    const sent: RecommendationList[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = [...users, 'dee', 'eve'].map((u) => list(u));
      sent.push(...batch);
      await produceLists(batch);
    }
    const last = (u: string) => sent.filter((l) => l.userId === u).at(-1)!;
    for (const [i, u] of users.entries()) await cs[i]!.next((f) => f.type === 'recommendations' && f.recommendationId === last(u).recommendationId, `${u}'s newest list`);
    await op.next((f) => f.type === 'recommendations' && f.recommendationId === last('bo').recommendationId, "bo's newest list on the operator's connection");
    for (const [i, u] of users.entries()) {
      const lists = cs[i]!.frames.filter((f) => f.type === 'recommendations');
      expect(lists.length).toBeGreaterThan(0);
      expect(lists.every((f) => f.userId === u)).toBe(true);
    }
    expect(op.frames.filter((f) => f.type === 'recommendations').every((f) => f.userId === 'bo')).toBe(true);
    // the frame is the record as it is
    const got = cs[0]!.frames.find((f) => f.recommendationId === last('ana').recommendationId)!;
    expect(got).toEqual({ type: 'recommendations', ...last('ana') });

    // a new subscriber gets the current list at once, from the table
    const late = await connect(gw, await token('cy'));
    late.send({ type: 'subscribe', channel: 'recommendations' });
    await late.next((f) => f.type === 'recommendations' && f.recommendationId === last('cy').recommendationId, "cy's current list at subscribe");
    expect(late.frames.map((f) => f.type)).toEqual(['ack', 'recommendations']);

    // the same over HTTP: own list or operator only
    expect(await get(gw, '/v1/users/ana/recommendations', await token('ana'))).toMatchObject({ status: 200, body: { recommendationId: last('ana').recommendationId } });
    expect(await get(gw, '/v1/users/ana/recommendations', await token('bo'))).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await get(gw, '/v1/users/ana/recommendations', await token('ops', { operator: true }))).toMatchObject({ status: 200 });
    expect(await get(gw, '/v1/users/ana/recommendations')).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await get(gw, '/v1/users/nobody/recommendations', await token('nobody'))).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/buddies_gateway_pushes_total\{channel="recommendations"\} [1-9]/);
    expect(metrics).toMatch(/buddies_gateway_push_latency_seconds_count [1-9]/);
    expect(metrics).toMatch(/buddies_gateway_subscriptions\{channel="recommendations"\} [1-9]/);
  });

  it('keeps what it holds for a client that never reads capped while lists pile up, coalescing to the newest', async () => {
    const sendBufferBytes = 64 * 1024;
    const gw = await startGateway({ sendBufferBytes, heartbeatMs: 600_000 });
    const user = 'sloth';
    const sock = await rawSubscriber(gw, await token(user));
    await waitFor(() => gw.stats().subscriptions.recommendations === 1, 'the subscription', 10_000, 20);
    sock.pause(); // from now on it reads nothing

    // ~130 KB per list; 200 lists = ~26 MB, more than the kernel's socket buffers on loopback take (Linux: at most
    // tcp_wmem 4 MB + tcp_rmem 6 MB by default)
    const lists = Array.from({ length: 200 }, () => list(user, 100, 1200));
    const frameBytes = Math.max(...lists.map((l) => Buffer.byteLength(JSON.stringify({ type: 'recommendations', ...l }))));
    let maxBuffered = 0;
    let maxQueued = 0;
    let maxQueuedBytes = 0;
    const sample = () => {
      const s = gw.stats().perConnection.find((c) => c.userId === user);
      if (!s) return;
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes, s.socketBufferedAmount);
      maxQueued = Math.max(maxQueued, s.queued);
      maxQueuedBytes = Math.max(maxQueuedBytes, s.queuedBytes);
    };
    const sampler = setInterval(sample, 5);
    try {
      for (let i = 0; i < lists.length; i += 3) await produceLists(lists.slice(i, i + 3));
      // every list reached the gateway: its table holds the last one
      await waitFor(async () => (await get(gw, `/v1/users/${user}/recommendations`, await token(user))).body.recommendationId === lists.at(-1)!.recommendationId, 'the last list in the table', 60_000, 50);
      await waitFor(() => gw.stats().coalesced > 0, 'coalescing', 10_000, 20);
    } finally {
      clearInterval(sampler);
    }
    sample();
    const stats: GatewayStats = gw.stats();
    // bounded: the send buffer plus one frame in flight, and one waiting list (the newest), however many were produced
    expect(maxBuffered).toBeLessThanOrEqual(sendBufferBytes + frameBytes);
    expect(maxQueued).toBeLessThanOrEqual(1);
    expect(maxQueuedBytes).toBeLessThanOrEqual(frameBytes);
    expect(stats.coalesced).toBeGreaterThan(0);
    process.stderr.write(`never-reading client: ${lists.length} lists of ${frameBytes} bytes (${((lists.length * frameBytes) / 1e6).toFixed(1)} MB) pushed; `
      + `the server held at most ${maxBuffered} bytes in flight and ${maxQueued} queued (${maxQueuedBytes} bytes); ${stats.coalesced} coalesced\n`);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/buddies_gateway_coalesced_total\{channel="recommendations"\} [1-9]/);
    // the client itself is still connected and the server still serves others
    await pingPong(gw);
    sock.destroy();
  });

  it('closes a connection that stops answering pings, and keeps those that answer', async () => {
    const gw = await startGateway({ heartbeatMs: 200 });
    // the heartbeat is a wheel of slots (by connection id): these connections land in different slots
    const live = await connect(gw, await token('alive'));
    let pings = 0;
    live.ws.on('ping', () => { pings++; }); // the ws client answers each ping with a pong itself
    const sock = await rawSubscriber(gw, await token('ghost'));
    sock.pause();
    await waitFor(() => gw.stats().connections === 1, 'the silent connection closed by the heartbeat', 10_000, 20);
    expect(gw.stats().perConnection.map((c) => c.userId)).toEqual(['alive']);
    // pinged once per interval, several intervals on, the answering connection is still open
    await waitFor(() => pings >= 4, 'four heartbeat pings to the answering connection', 10_000, 20);
    expect(gw.stats().connections).toBe(1);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    sock.destroy();
  });

  it('two instances each push the refreshed list to their own clients', async () => {
    const [a, b] = [await startGateway(), await startGateway()];
    const onA = await connect(a, await token('fay'));
    const onB = await connect(b, await token('fay'));
    const otherOnB = await connect(b, await token('gus'));
    for (const c of [onA, onB, otherOnB]) {
      c.send({ type: 'subscribe', channel: 'recommendations', id: 's' });
      await c.next((f) => f.type === 'ack', 'ack');
    }
    const fay = list('fay');
    const gus = list('gus');
    await produceLists([fay, gus]);
    await onA.next((f) => f.recommendationId === fay.recommendationId, "fay's list on instance A");
    await onB.next((f) => f.recommendationId === fay.recommendationId, "fay's list on instance B");
    await otherOnB.next((f) => f.recommendationId === gus.recommendationId, "gus's list on instance B");
    expect(onA.frames.some((f) => f.userId === 'gus')).toBe(false);
  });

  it('produces feedback over WebSocket and events over POST /v1/events to Kafka, and answers a bad event with 400 and its field', async () => {
    const gw = await startGateway();
    const t = await token('hal');
    const c = await connect(gw, t);
    const click = { eventId: randomUUID(), kind: 'CLICK', playlistId: 'p1', recommendationId: 'r1', position: 0, eventTime: Date.now() };
    c.send({ type: 'feedback', id: 'fb1', event: click });
    await c.next((f) => f.type === 'ack' && f.of === 'feedback' && f.id === 'fb1', 'feedback ack');
    const wsListen = { eventId: randomUUID(), trackId: 'spotify:track:ws', source: 'ORGANIC_PLAYLIST', msPlayed: 90_000, trackDurationMs: 200_000, eventTime: Date.now() };
    c.send({ type: 'listen', id: 'l1', event: wsListen });
    await c.next((f) => f.type === 'ack' && f.of === 'listen' && f.id === 'l1', 'listen ack');

    const post = async (body: unknown, bearer = t) => {
      const res = await fetch(`${gw.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Frame };
    };
    const httpListen = { eventId: randomUUID(), trackId: 'spotify:track:http', source: 'LIBRARY', msPlayed: 1000, trackDurationMs: 2000, eventTime: Date.now() };
    const like = { eventId: randomUUID(), kind: 'LIKE_TRACK', trackId: 'spotify:track:http', eventTime: Date.now() };
    expect(await post({ events: [{ type: 'listen', event: httpListen }, { type: 'feedback', event: like }] })).toEqual({ status: 202, body: { accepted: 2 } });

    const neverSent = { ...httpListen, eventId: randomUUID() };
    const bad = await post({ events: [{ type: 'listen', event: neverSent }, { type: 'listen', event: { ...httpListen, eventId: randomUUID(), msPlayed: 'long' } }] });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_event', field: 'events[1].event.msPlayed' } } });
    expect(bad.body.error.message).toMatch(/events\[1\]\.event\.msPlayed/);
    expect(await post({ events: [{ type: 'listen', event: { ...httpListen, userId: 'someone-else' } }] })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await post({ events: [{ type: 'dance', event: {} }] })).toMatchObject({ status: 400, body: { error: { code: 'unknown_type', field: 'events[0].type' } } });
    expect(await post({ nope: 1 })).toMatchObject({ status: 400, body: { error: { code: 'malformed_frame' } } });
    expect(await post({ events: [] }, 'bad')).toMatchObject({ status: 401, body: { error: { code: 'bad_token' } } });

    const decodeAll = async <K extends 'listens' | 'feedback'>(key: K) => {
      const out: Array<K extends 'listens' ? ListenEvent : FeedbackEvent> = [];
      for (const m of await readTopicSnapshot(bed.kafka, bed.topics.name(key))) if (m.value) out.push(await bed.serde.decode(key, m.value) as never);
      return out;
    };
    const listens = await decodeAll('listens');
    const feedback = await decodeAll('feedback');
    expect(feedback.find((e) => e.eventId === click.eventId)).toEqual({ ...click, userId: 'hal', trackId: null });
    expect(feedback.find((e) => e.eventId === like.eventId)).toEqual({ ...like, userId: 'hal', playlistId: null, recommendationId: null, position: null });
    expect(listens.find((e) => e.eventId === wsListen.eventId)).toEqual({ ...wsListen, userId: 'hal', playlistId: null, recommendationId: null });
    expect(listens.find((e) => e.eventId === httpListen.eventId)).toMatchObject({ userId: 'hal', trackId: 'spotify:track:http' });
    // a batch with a bad event is refused whole
    expect(listens.some((e) => e.eventId === neverSent.eventId)).toBe(false);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/buddies_gateway_events_total\{topic="listens"\} 2/);
    expect(metrics).toMatch(/buddies_gateway_errors_total\{code="bad_event"\} 1/);
  });

  it('a restarted instance rebuilds its latest lists from Kafka', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `ida${i}`);
    const older = users.map((u) => list(u));
    const newer = users.map((u) => list(u));
    await produceLists(older);
    await produceLists(newer);
    const first = await startGateway();
    const before = first.stats().latestLists;
    expect(before).toBeGreaterThanOrEqual(users.length);
    await first.close();

    const again = await startGateway();
    // caught up before it resolved: the table is whole at once
    expect(again.stats().latestLists).toBe(before);
    const c = await connect(again, await token('ida7'));
    c.send({ type: 'subscribe', channel: 'recommendations' });
    const got = await c.next((f) => f.type === 'recommendations', "ida7's list");
    expect(got.recommendationId).toBe(newer[7]!.recommendationId);
    const r = await get(again, '/v1/users/ida3/recommendations', await token('ops', { operator: true }));
    expect(r.body.recommendationId).toBe(newer[3]!.recommendationId);
    const ready = await get(again, '/readyz');
    expect(ready).toEqual({ status: 200, body: { ready: true, latestLists: null, checks: { kafka: null, registry: null, clickhouse: null } } });
  });

  it('answers /readyz 503 naming the service that does not answer, and /healthz 200', async () => {
    const gw = await startGateway({}, { readiness: [httpCheck('clickhouse', 'http://127.0.0.1:1/ping', 1000)] });
    const r = await get(gw, '/readyz');
    expect(r.status).toBe(503);
    expect(r.body.checks.clickhouse).toEqual(expect.any(String));
    expect((await get(gw, '/healthz')).status).toBe(200);
    expect((await get(gw, '/nowhere')).body.error.code).toBe('not_found');
    const res = await fetch(`${gw.url}/v1/events`);
    expect([res.status, ((await res.json()) as Frame).error.code]).toEqual([405, 'method_not_allowed']);
    const big = await fetch(`${gw.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${await token('ana')}` }, body: 'x'.repeat(2 * 1024 * 1024) });
    expect([big.status, ((await big.json()) as Frame).error.code]).toEqual([413, 'frame_too_large']);
  });
});

/** A WebSocket client by hand on a TCP socket, so that the test can stop it reading at the socket. */
async function rawSubscriber(gw: Gateway, bearer: string): Promise<Socket> {
  const port = Number(new URL(gw.url).port);
  const sock = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { sock.once('connect', () => resolve()); sock.once('error', reject); });
  sock.write(`GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${bearer}\r\n\r\n`);
  let head = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      head += b.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    sock.on('data', onData);
  });
  sock.on('data', () => {}); // reads until the test pauses it
  sock.write(maskedText(JSON.stringify({ type: 'subscribe', channel: 'recommendations' })));
  return sock;
}

/** One masked text frame, as a client must send it (RFC 6455 5.3). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([0x81, 0x80 | payload.length]);
  else {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  }
  return Buffer.concat([header, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}
