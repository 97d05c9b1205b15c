import { describe, expect, it } from 'vitest';
import { chunkTopicMessages } from './producer.js';

describe('chunkTopicMessages', () => {
  const msg = (key: string, bytes: number) => ({ key, value: Buffer.alloc(bytes) });

  it('keeps everything in one request while it fits', () => {
    const chunks = chunkTopicMessages([{ topic: 'a', messages: [msg('1', 10), msg('2', 10)] }, { topic: 'b', messages: [msg('3', 10)] }], 1000);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.map((t) => [t.topic, t.messages.length])).toEqual([['a', 2], ['b', 1]]);
  });

  it('splits past the limit, each topic in order, and sends an oversized message alone', () => {
    const chunks = chunkTopicMessages([{ topic: 'a', messages: [msg('1', 400), msg('2', 400), msg('3', 400), msg('4', 5000)] }, { topic: 'b', messages: [msg('5', 100)] }], 1000);
    expect(chunks.map((c) => c.flatMap((t) => t.messages.map((m) => `${t.topic}${String(m.key)}`)))).toEqual([['a1', 'a2'], ['a3'], ['a4'], ['b5']]);
  });

  it('returns no request for no messages', () => {
    expect(chunkTopicMessages([], 1000)).toEqual([]);
    expect(chunkTopicMessages([{ topic: 'a', messages: [] }], 1000)).toEqual([]);
  });
});
