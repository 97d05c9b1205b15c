import { join } from 'node:path';
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { TransientError } from './errors.js';
import type { FeedbackEvent } from './records.js';
import { storeSpec } from './store.js';
import { createTaskRuntime, PartitionGroup } from './task.js';
import { createLocalSerde } from './test-driver.js';
import type { TaskProcessor } from './topology.js';

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

describe('TaskRuntime.handle: one record, with or without a promise (issue 8)', () => {
  const COUNTS = storeSpec<number>('counts');
  const event = (userId: string): FeedbackEvent => ({ eventId: 'e', userId, kind: 'SKIP', trackId: null, playlistId: null, recommendationId: null, position: null, eventTime: 1 });

  /** A runtime over the real serde whose processor counts each user's events, then does what `fail` says. */
  async function setup(fail: (userId: string) => void | Promise<void>, retries = 0) {
    const serde = await createLocalSerde(join(findRootDir(), 'schemas'));
    const processor: TaskProcessor<'feedback'> = {
      process(record, ctx) {
        const counts = ctx.store(COUNTS);
        counts.put(record.value.userId, (counts.get(record.value.userId) ?? 0) + 1);
        return fail(record.value.userId);
      },
    };
    const rt = createTaskRuntime({
      serde, log: () => {}, globals: new Map(), retry: { retries, initialMs: 1, maxMs: 1 },
      topology: { applicationId: 'handle-test', inputs: ['feedback'], stores: [COUNTS], processor: () => processor },
    });
    const task = rt.newTask(0, undefined, new Map());
    let offset = 0;
    const message = async (value: Buffer | FeedbackEvent) => ({
      key: null, value: Buffer.isBuffer(value) ? value : await serde.encode('feedback', value), headers: {}, offset: String(offset++), timestamp: '1',
    }) as unknown as KafkaMessage;
    const handle = async (m: KafkaMessage): Promise<TopicMessages[]> => rt.handle(task, 'feedback', m, serde.topics.name('feedback'));
    return { rt, task, serde, message, handle, count: (u: string) => task.stores.get('counts')!.get(u) };
  }

  const reasons = (out: TopicMessages[]) => out.flatMap((t) => t.messages.map((m) => String((m.headers as Record<string, Buffer>)['dlq.reason.code'])));

  it('answers a record without a promise once the writer schema is known, and dead-letters a failing one with its writes undone', async () => {
    const { rt, task, message, handle, count } = await setup((u) => { if (u.startsWith('bad')) throw new Error(`cannot count ${u}`); });
    expect(await handle(await message(event('ana')))).toEqual([]); // the first: the writer schema is fetched
    const known = rt.handle(task, 'feedback', await message(event('ana')), 'feedback');
    expect(known).not.toBeInstanceOf(Promise);
    expect(known).toEqual([]);
    expect(count('ana')).toBe(2);
    const dead = await handle(await message(event('bad-bo')));
    expect(reasons(dead)).toEqual(['PROCESSING']);
    expect(count('bad-bo')).toBeUndefined(); // rolled back
    expect(rt.stats.deadLettered).toBe(1);
  });

  it('dead-letters bytes that fail the bound checks or Avro once the schema is cached, as before it is', async () => {
    const { serde, message, handle, count } = await setup(() => {});
    const good = await serde.encode('feedback', event('ana'));
    const forged = Buffer.concat([good.subarray(0, 5), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f])]); // eventId claims ~2 GiB
    for (let i = 0; i < 2; i++) { // before and after the writer schema is cached
      const dead = await handle(await message(forged));
      expect(reasons(dead)).toEqual(['DECODE']);
    }
    expect(reasons(await handle(await message(Buffer.from([1, 2, 3]))))).toEqual(['DECODE']); // not the wire format
    expect(await handle(await message(good))).toEqual([]);
    expect(count('ana')).toBe(1);
  });

  it('awaits an async processor, and retries a retriable failure with the store writes of each attempt undone', async () => {
    let failures = 2;
    const { rt, message, handle, count } = await setup(async (u) => {
      await Promise.resolve();
      if (u === 'flaky' && failures-- > 0) throw new TransientError('warehouse busy');
    }, 5);
    expect(await handle(await message(event('ana')))).toEqual([]);
    expect(await handle(await message(event('flaky')))).toEqual([]);
    expect(count('flaky')).toBe(1); // counted once, by the attempt that passed
    expect(rt.stats.retries).toBe(2);
    failures = 10;
    await expect(handle(await message(event('flaky')))).rejects.toBeInstanceOf(TransientError); // retries run out: the batch aborts
    expect(count('flaky')).toBe(1);
  });
});
