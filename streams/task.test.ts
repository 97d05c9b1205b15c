import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { PartitionGroup } from './task.js';

const msg = (offset: number, timestamp: number) => ({ offset: String(offset), timestamp: String(timestamp) }) as KafkaMessage;

describe('PartitionGroup: a task\'s fetched records in timestamp order (issue 8)', () => {
  it('takes the lowest head timestamp, ties to the earlier input, offsets in order within an input', () => {
    const g = new PartitionGroup(['a', 'b']);
    const [a, b] = g.queues;
    for (const [o, ts] of [[0, 5], [1, 9], [2, 9]] as const) g.add(a!, msg(o, ts));
    for (const [o, ts] of [[10, 9], [11, 3], [12, 20]] as const) g.add(b!, msg(o, ts)); // 3 after 9: offset order holds
    const order: string[] = [];
    for (let q = g.pick(); q; q = g.pick()) order.push(`${q.topic}${g.shift(q).offset}`);
    expect(order).toEqual(['a0', 'a1', 'a2', 'b10', 'b11', 'b12']);
    expect(g.size).toBe(0);
    expect([a!.bufferedNext, b!.bufferedNext]).toEqual([3, 13]);
  });

  it('forgets everything buffered on clear, so that it is buffered again when fetched again', () => {
    const g = new PartitionGroup(['a', 'b']);
    g.add(g.queues[0]!, msg(4, 1));
    g.queues[0]!.fetchedNext = 6;
    g.clear();
    expect(g.size).toBe(0);
    expect(g.pick()).toBeUndefined();
    expect([g.queues[0]!.bufferedNext, g.queues[0]!.fetchedNext]).toEqual([-1, -1]);
  });
});
