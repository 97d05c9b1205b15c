import { describe, expect, it } from 'vitest';
import type { RecordMetadata } from 'kafkajs';
import type { OutRecord, TypedProducer } from '../streams/index.js';
import { GatewayError } from './errors.js';
import { createEventSink } from './event-sink.js';

/** A producer whose sends complete when the test says so. */
function manualProducer() {
  const sends: Array<{ topic: string; keys: string[]; finish: (err?: Error) => void }> = [];
  const producer: TypedProducer = {
    connect: async () => {},
    disconnect: async () => {},
    send: (topic, records) => new Promise<RecordMetadata[]>((resolve, reject) => {
      sends.push({ topic, keys: records.map((r) => r.key), finish: (err) => (err ? reject(err) : resolve([])) });
    }),
  };
  return { producer, sends };
}

const rec = (key: string) => ({ key, value: {} }) as unknown as OutRecord<'listens'>;
const settle = () => new Promise((r) => setImmediate(r));

describe('createEventSink', () => {
  it('sends what arrives while a request is in flight as one batch', async () => {
    const { producer, sends } = manualProducer();
    const sink = createEventSink({ producer });
    const done: string[] = [];
    const a = sink.submit('listens', [rec('a')]).then(() => done.push('a'));
    const b = sink.submit('listens', [rec('b')]).then(() => done.push('b'));
    const c = sink.submit('listens', [rec('c'), rec('d')]).then(() => done.push('c'));
    expect(sends.map((s) => s.keys)).toEqual([['a']]);
    expect(sink.pending).toBe(4);
    sends[0]!.finish();
    await a;
    await settle();
    expect(sends.map((s) => s.keys)).toEqual([['a'], ['b', 'c', 'd']]);
    expect(done).toEqual(['a']);
    sends[1]!.finish();
    await Promise.all([b, c]);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(sink.pending).toBe(0);
  });

  it('keeps topics apart and batches at most maxBatch records', async () => {
    const { producer, sends } = manualProducer();
    const sink = createEventSink({ producer, maxBatch: 2 });
    void sink.submit('listens', [rec('a')]);
    void sink.submit('feedback', [rec('f')] as unknown as OutRecord<'feedback'>[]);
    void sink.submit('listens', [rec('b')]);
    void sink.submit('listens', [rec('c')]);
    void sink.submit('listens', [rec('d')]);
    expect(sends.map((s) => [s.topic, s.keys])).toEqual([['listens', ['a']], ['feedback', ['f']]]);
    sends[0]!.finish();
    await settle();
    expect(sends[2]).toMatchObject({ topic: 'listens', keys: ['b', 'c'] });
  });

  it('answers unavailable when full and when Kafka fails, and goes on after', async () => {
    const { producer, sends } = manualProducer();
    const sink = createEventSink({ producer, maxPending: 2 });
    const first = sink.submit('listens', [rec('a'), rec('b')]);
    await expect(sink.submit('listens', [rec('c')])).rejects.toMatchObject({ code: 'unavailable' });
    sends[0]!.finish(new Error('broker gone'));
    const err = await first.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'unavailable' });
    const next = sink.submit('listens', [rec('c')]);
    await settle();
    sends[1]!.finish();
    await expect(next).resolves.toBeUndefined();
    await sink.close();
    await expect(sink.submit('listens', [rec('d')])).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('answers unavailable when Kafka does not acknowledge in time, and counts the records until it does', async () => {
    const { producer, sends } = manualProducer();
    const sink = createEventSink({ producer, ackTimeoutMs: 20 });
    await expect(sink.submit('listens', [rec('a')])).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/did not acknowledge in 20 ms/) });
    expect(sink.pending).toBe(1);
    sends[0]!.finish();
    await settle();
    expect(sink.pending).toBe(0);
  });
});
