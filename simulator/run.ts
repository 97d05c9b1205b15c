import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { WorldModel } from '../data/world.js';
import type { TasteShift } from './shift.js';
import { readTopicSnapshot, type AvroSerde, type TypedProducer } from '../streams/index.js';
import { createSimulation, type OnlineMetrics, type SimEvent } from './engine.js';

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
  readonly onTick?: (s: { elapsedMs: number; events: number; lists: number }) => void;
}

export interface LiveSimulationResult {
  readonly events: number;
  readonly byTopic: Record<SimEvent['topic'], number>;
  readonly lists: number;
  readonly metrics: ReadonlyMap<string, OnlineMetrics>;
  readonly seconds: number;
}

/**
 * Simulated users against the live system: they read their lists from the recommendations topic (until the
 * gateway pushes them over WebSocket), react, and write listens, feedback and playlists to Kafka.
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
  const consumer = opts.kafka.consumer({ groupId: `simulate-${randomBytes(6).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.name('recommendations')], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      sim.offer(await opts.serde.decode('recommendations', message.value));
      lists++;
    },
  });
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
      if (grouped.listens.length) await opts.producer.send('listens', grouped.listens.map((e) => ({ key: e.key, value: e.value as never })));
      if (grouped.feedback.length) await opts.producer.send('feedback', grouped.feedback.map((e) => ({ key: e.key, value: e.value as never })));
      for (const t of ['listens', 'feedback', 'playlists'] as const) byTopic[t] += grouped[t].length;
      events += batch.length;
      opts.onTick?.({ elapsedMs: Date.now() - startReal, events, lists });
      // pace the loop: wait for the next tick of the rate limiter (not a synchronisation)
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await consumer.disconnect();
  }
  return { events, byTopic, lists, metrics: sim.metrics, seconds: (Date.now() - startReal) / 1000 };
}
