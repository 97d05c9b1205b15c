import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { WorldModel } from '../data/world.js';
import type { TasteShift } from './shift.js';
import { readTopicSnapshot, type AvroSerde, type TypedProducer } from '../streams/index.js';
import { createSimulation, type OnlineMetrics, type SimEvent } from './engine.js';
import { createGatewayClient, GatewayError, type GatewayClient } from './gateway-client.js';

/**
 * How simulated users reach the system. `gateway`: each user is an app connected to the gateway over WebSocket
 * with a token of their own; lists come by push, listens and feedback go through the gateway (which writes them
 * to Kafka). `kafka`: lists are read from the recommendations topic and events written to Kafka directly (for
 * tests and for a system run without a gateway).
 */
export type SimulationTransport =
  | { readonly kind: 'kafka' }
  | {
    readonly kind: 'gateway';
    /** The stream endpoint, e.g. `ws://127.0.0.1:8080/v1/stream`. */
    readonly url: string;
    /** A JWT for a user (`sub` = the user's id); asked again when a connection is re-established. */
    readonly token: (userId: string) => string | Promise<string>;
    /** Connections opened at once while starting (default 50). */
    readonly connectConcurrency?: number;
    /**
     * The gateway's per-connection message rate and burst: each user's client keeps to it, as an app would, and
     * a user's events wait their turn (a user on a fast simulated clock acts faster than a person could).
     */
    readonly rate?: { readonly perSecond: number; readonly burst: number };
    /** A connection silent this long (no frame, no heartbeat ping) is re-established (default: never). */
    readonly heartbeatTimeoutMs?: number;
  };

export interface LiveSimulationOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly producer: TypedProducer;
  readonly model: WorldModel;
  readonly users: number;
  readonly seed: number;
  /** Events per second of real time, at most. */
  readonly rate: number;
  /** Real milliseconds to run; the run stops by itself then. */
  readonly durationMs: number;
  /** Simulated milliseconds per real millisecond (default 1440: a day a minute). */
  readonly speed?: number;
  /** Shifts with `atMs` in real milliseconds after the start (converted to the simulated clock here). */
  readonly shifts?: readonly TasteShift[];
  /** Default `{ kind: 'kafka' }`. */
  readonly via?: SimulationTransport;
  readonly onTick?: (s: { elapsedMs: number; events: number; lists: number; failed: number }) => void;
  /** Once every simulated user is connected to the gateway (gateway transport only). */
  readonly onConnected?: (s: { users: number; ms: number }) => void;
}

export interface LiveSimulationResult {
  readonly events: number;
  readonly byTopic: Record<SimEvent['topic'], number>;
  readonly lists: number;
  readonly metrics: ReadonlyMap<string, OnlineMetrics>;
  readonly seconds: number;
  readonly via: SimulationTransport['kind'];
  /** Events the gateway did not accept (after the client's retries), by error code; empty on the Kafka path. */
  readonly failed: Readonly<Record<string, number>>;
  /** Reconnects of the users' gateway connections (0 on the Kafka path). */
  readonly reconnects: number;
  /** Lists pushed to a user that were another user's (must stay 0; ignored by the users). */
  readonly foreignLists: number;
}

/**
 * Simulated users against the live system: they get their lists (pushed by the gateway, or read from the
 * recommendations topic), react, and send listens and feedback (through the gateway, or to Kafka). Playlists
 * that curators make go to the playlists topic in both cases (the gateway has no catalogue API), and the
 * playlist table the users' reactions need is read from Kafka at the start.
 */
export async function runLiveSimulation(opts: LiveSimulationOptions): Promise<LiveSimulationResult> {
  const speed = opts.speed ?? 1440;
  const topics = opts.serde.topics;
  const playlistTracks = new Map<string, readonly string[]>();
  for (const m of await readTopicSnapshot(opts.kafka, topics.name('playlists'))) {
    if (!m.value) continue;
    const p = await opts.serde.decode('playlists', m.value);
    if (p.kind === 'DELETE') playlistTracks.delete(p.playlistId);
    else playlistTracks.set(p.playlistId, p.tracks);
  }
  const startReal = Date.now();
  const startSim = startReal;
  const sim = createSimulation({
    model: opts.model, users: opts.users, seed: opts.seed, startMs: startSim,
    playlistTracks: (id) => playlistTracks.get(id),
    shifts: opts.shifts?.map((s) => ({ ...s, atMs: startSim + (s.atMs ?? 0) * speed })),
  });
  let lists = 0;
  let foreignLists = 0;
  const via = opts.via ?? { kind: 'kafka' };
  const failed: Record<string, number> = {};
  let consumer: Consumer | undefined;
  const clients = new Map<string, GatewayClient>();
  if (via.kind === 'kafka') {
    const c = opts.kafka.consumer({ groupId: `simulate-${randomBytes(6).toString('hex')}` });
    consumer = c;
    await c.connect();
    await c.subscribe({ topics: [topics.name('recommendations')], fromBeginning: false });
    await c.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        sim.offer(await opts.serde.decode('recommendations', message.value));
        lists++;
      },
    });
  } else {
    const started = Date.now();
    try {
      await connectAll(sim.users.map((u) => u.id), via.connectConcurrency ?? 50, async (userId) => {
        const client = createGatewayClient({
          url: via.url, token: () => via.token(userId), retryFirstConnect: false, rate: via.rate, heartbeatTimeoutMs: via.heartbeatTimeoutMs, maxPending: 5000, ackTimeoutMs: 30_000,
          onList: (list) => {
            if (list.userId !== userId) { // never another user's list (the gateway guarantees it; the app checks)
              foreignLists++;
              return;
            }
            sim.offer(list);
            lists++;
          },
        });
        clients.set(userId, client);
        await client.connect();
      });
    } catch (err) {
      await Promise.all([...clients.values()].map((c) => c.close()));
      throw err;
    }
    opts.onConnected?.({ users: clients.size, ms: Date.now() - started });
  }
  /**
   * Listens and feedback through the users' own gateway connections. Not awaited per tick (a user's events may wait
   * for their connection's rate); what is in flight is bounded, and awaited at the end.
   */
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = Math.max(1000, 20 * sim.users.length);
  const sendViaGateway = async (events: readonly SimEvent[]) => {
    for (const e of events) {
      const client = clients.get(e.key);
      const sent = (async () => {
        try {
          if (!client) throw new GatewayError('closed', `no connection for ${e.key}`);
          if (e.topic === 'listens') await client.listen(e.value);
          else if (e.topic === 'feedback') await client.feedback(e.value);
        } catch (err) {
          const code = err instanceof GatewayError ? err.code : 'error';
          failed[code] = (failed[code] ?? 0) + 1;
        }
      })();
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    while (inFlight.size > maxInFlight) await Promise.race(inFlight);
  };
  const byTopic: Record<SimEvent['topic'], number> = { listens: 0, feedback: 0, playlists: 0 };
  let events = 0;
  let tokens = 0;
  let last = startReal;
  try {
    while (Date.now() - startReal < opts.durationMs) {
      const now = Date.now();
      tokens = Math.min(opts.rate, tokens + ((now - last) / 1000) * opts.rate); // at most a second's worth banked
      last = now;
      const batch = tokens >= 1 ? sim.step(startSim + (now - startReal) * speed, Math.floor(tokens)) : [];
      tokens -= batch.length;
      const grouped = { listens: [] as SimEvent[], feedback: [] as SimEvent[], playlists: [] as SimEvent[] };
      for (const e of batch) grouped[e.topic].push(e);
      if (grouped.playlists.length) await opts.producer.send('playlists', grouped.playlists.map((e) => ({ key: e.key, value: e.value as never })));
      if (via.kind === 'gateway') await sendViaGateway([...grouped.listens, ...grouped.feedback]);
      else {
        if (grouped.listens.length) await opts.producer.send('listens', grouped.listens.map((e) => ({ key: e.key, value: e.value as never })));
        if (grouped.feedback.length) await opts.producer.send('feedback', grouped.feedback.map((e) => ({ key: e.key, value: e.value as never })));
      }
      for (const t of ['listens', 'feedback', 'playlists'] as const) byTopic[t] += grouped[t].length;
      events += batch.length;
      opts.onTick?.({ elapsedMs: Date.now() - startReal, events, lists, failed: Object.values(failed).reduce((a, b) => a + b, 0) });
      // pace the loop: wait for the next tick of the rate limiter (not a synchronisation)
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(inFlight); // every event acknowledged by the gateway or counted as failed
  } finally {
    await consumer?.disconnect();
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  const reconnects = [...clients.values()].reduce((n, c) => n + c.stats.reconnects, 0);
  return { events, byTopic, lists, metrics: sim.metrics, seconds: (Date.now() - startReal) / 1000, via: via.kind, failed, reconnects, foreignLists };
}

/** Runs `connect` for every id, at most `concurrency` at once; the first failure stops the rest and is thrown. */
async function connectAll(ids: readonly string[], concurrency: number, connect: (id: string) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < ids.length) {
      const id = ids[next++]!;
      await connect(id).catch((err: unknown) => { failure ??= err; });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
  if (failure !== undefined) throw failure;
}
