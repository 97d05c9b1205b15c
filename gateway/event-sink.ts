/**
 * Events from apps into Kafka with group commit: while one produce request of a topic is in flight, the events that
 * arrive wait and then go together in the next one. The idempotent producer keeps one request in flight, so sending
 * each client's event alone would cap the gateway at one round trip per event; batching keeps it at one round trip
 * per batch. Each submission resolves once Kafka acknowledged its records (acks=all), which is when the client gets
 * its `ack` (or 202).
 */
import type { OutRecord, TypedProducer } from '../streams/index.js';
import { GatewayError } from './errors.js';

export type EventTopic = 'listens' | 'feedback';

export interface EventSink {
  /** Resolves once Kafka acknowledged all of `records`; rejects with `unavailable` when full or when Kafka fails. */
  submit<K extends EventTopic>(topic: K, records: ReadonlyArray<OutRecord<K>>): Promise<void>;
  /** Records accepted and not yet acknowledged. */
  readonly pending: number;
  /** Waits for what is in flight and queued; later submissions are refused. */
  close(): Promise<void>;
}

export interface EventSinkOptions {
  readonly producer: TypedProducer;
  /** Records that may wait or be in flight at once (default 10,000): beyond, submissions get `unavailable`. */
  readonly maxPending?: number;
  /** Records per produce request at most (default 500). */
  readonly maxBatch?: number;
  /**
   * How long a submission waits for Kafka's acknowledgement before it is answered `unavailable` (default 10 s). The
   * idempotent producer retries without end while Kafka is away, so without this a client would wait as long; its
   * records stay in flight (and count as pending) and may still land: clients resend with the same eventId and
   * consumers de-duplicate on it.
   */
  readonly ackTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

interface Waiting {
  readonly records: ReadonlyArray<OutRecord<EventTopic>>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export function createEventSink(opts: EventSinkOptions): EventSink {
  const maxPending = opts.maxPending ?? 10_000;
  const maxBatch = opts.maxBatch ?? 500;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
  const queues: Record<EventTopic, Waiting[]> = { listens: [], feedback: [] };
  const sending: Record<EventTopic, Promise<void> | undefined> = { listens: undefined, feedback: undefined };
  let pending = 0;
  let closed = false;

  const pump = (topic: EventTopic): void => {
    if (sending[topic] || queues[topic].length === 0) return;
    const batch: Waiting[] = [];
    let n = 0;
    while (queues[topic].length > 0 && (batch.length === 0 || n + queues[topic][0]!.records.length <= maxBatch)) {
      const w = queues[topic].shift()!;
      batch.push(w);
      n += w.records.length;
    }
    const records = batch.flatMap((w) => w.records);
    sending[topic] = opts.producer.send(topic, records).then(
      () => { for (const w of batch) w.resolve(); },
      (err: unknown) => {
        opts.log?.(`events: producing ${records.length} ${topic} failed: ${err instanceof Error ? err.message : String(err)}`);
        for (const w of batch) w.reject(new GatewayError('unavailable', `Kafka did not take the ${topic === 'listens' ? 'listen' : 'feedback'} events: retry later`));
      },
    ).finally(() => {
      pending -= n;
      sending[topic] = undefined;
      pump(topic);
    });
  };

  return {
    submit(topic, records) {
      if (closed) return Promise.reject(new GatewayError('unavailable', 'the gateway is shutting down'));
      if (records.length === 0) return Promise.resolve();
      if (pending + records.length > maxPending) {
        return Promise.reject(new GatewayError('unavailable', `${pending} events are waiting for Kafka on this instance: retry later`));
      }
      pending += records.length;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new GatewayError('unavailable', `Kafka did not acknowledge in ${ackTimeoutMs} ms: retry later (same eventId)`)), ackTimeoutMs);
        timer.unref();
        const settle = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => { clearTimeout(timer); fn(...a); };
        queues[topic].push({ records: records as ReadonlyArray<OutRecord<EventTopic>>, resolve: settle(resolve), reject: settle(reject) });
        pump(topic);
      });
    },
    get pending() { return pending; },
    async close() {
      closed = true;
      while (sending.listens || sending.feedback) await Promise.all([sending.listens, sending.feedback]);
    },
  };
}
