import { describe, expect, it } from 'vitest';
import { createSendQueue, type Transport } from './send-queue.js';

/** A socket whose writes complete when the test says so (a client that reads slowly, or not at all). */
function slowSocket() {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  const transport: Transport = { write: (data, done) => { written.push(data); pending.push(() => done()); } };
  return { transport, written, flushOne: () => pending.shift()?.(), flushAll: () => { while (pending.length) pending.shift()!(); } };
}

describe('createSendQueue', () => {
  it('sends at once while the buffer has room', () => {
    const s = slowSocket();
    const q = createSendQueue({ transport: s.transport, maxBufferedBytes: 10, maxQueued: 2 });
    expect(q.push({ data: 'abcd' })).toBe('sent');
    expect(q.push({ data: 'efgh' })).toBe('sent');
    expect(q.bufferedBytes).toBe(8);
    expect(q.push({ data: 'ijkl' })).toBe('sent'); // 8 < 10: one more goes, the buffer may pass the cap by one message
    expect(q.push({ data: 'mnop' })).toBe('queued');
    expect(s.written).toEqual(['abcd', 'efgh', 'ijkl']);
    s.flushAll();
    expect(s.written).toEqual(['abcd', 'efgh', 'ijkl', 'mnop']);
  });

  it('coalesces keyed messages while they wait: a slow client gets the newest, in its place', () => {
    const s = slowSocket();
    const q = createSendQueue({ transport: s.transport, maxBufferedBytes: 1, maxQueued: 10 });
    q.push({ data: 'list-1', key: 'rec:ana' });
    expect(q.push({ data: 'ack-1' })).toBe('queued');
    expect(q.push({ data: 'list-2', key: 'rec:ana' })).toBe('queued');
    expect(q.push({ data: 'metrics-1', key: 'metrics' })).toBe('queued');
    expect(q.push({ data: 'list-3', key: 'rec:ana' })).toBe('coalesced');
    expect(q.push({ data: 'list-4-longer', key: 'rec:ana' })).toBe('coalesced');
    expect(q.push({ data: 'metrics-2', key: 'metrics' })).toBe('coalesced');
    expect(q.queued).toBe(3);
    expect(q.queuedBytes).toBe('ack-1'.length + 'list-4-longer'.length + 'metrics-2'.length);
    s.flushAll();
    expect(s.written).toEqual(['list-1', 'ack-1', 'list-4-longer', 'metrics-2']);
    expect(q).toMatchObject({ queued: 0, queuedBytes: 0, bufferedBytes: 0 });
  });

  it('stays bounded however many pushes a client that never reads is sent', () => {
    const s = slowSocket();
    const q = createSendQueue({ transport: s.transport, maxBufferedBytes: 1000, maxQueued: 4 });
    const list = 'x'.repeat(300);
    for (let i = 0; i < 100_000; i++) q.push({ data: `${i}${list}`, key: `rec:${i % 3}` });
    expect(q.bufferedBytes).toBeLessThan(1000 + 310);
    expect(q.queued).toBe(3);
    expect(s.written.length).toBe(4);
  });

  it('overflows when too many unkeyed messages wait, and takes nothing after close', () => {
    const s = slowSocket();
    const q = createSendQueue({ transport: s.transport, maxBufferedBytes: 1, maxQueued: 2 });
    q.push({ data: 'a' });
    expect([q.push({ data: 'b' }), q.push({ data: 'c' }), q.push({ data: 'd' })]).toEqual(['queued', 'queued', 'overflow']);
    q.close();
    expect(q.queued).toBe(0);
    expect(q.push({ data: 'e' })).toBe('overflow');
    s.flushAll();
    expect(s.written).toEqual(['a']);
  });

  it('reports each message as it is handed over, with its meta', () => {
    const s = slowSocket();
    const seen: unknown[] = [];
    const q = createSendQueue<{ at: number }>({ transport: s.transport, maxBufferedBytes: 1, maxQueued: 1, onWrite: (m) => seen.push(m.meta?.at) });
    q.push({ data: 'a', key: 'k', meta: { at: 1 } });
    q.push({ data: 'b', key: 'k', meta: { at: 2 } });
    q.push({ data: 'c', key: 'k', meta: { at: 3 } });
    expect(seen).toEqual([1]);
    s.flushOne();
    expect(seen).toEqual([1, 3]);
  });

  it('goes on after a failed write', () => {
    const written: string[] = [];
    const q = createSendQueue({ transport: { write: (d, done) => { written.push(d); queueMicrotask(() => done(new Error('closed'))); } }, maxBufferedBytes: 1, maxQueued: 5 });
    q.push({ data: 'a' });
    q.push({ data: 'b' });
    return new Promise<void>((resolve) => setImmediate(() => { expect(written).toEqual(['a', 'b']); expect(q.bufferedBytes).toBe(0); resolve(); }));
  });
});
