import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { createCountingTopology, USER_COUNTS } from './counting.js';
import type { AvroSerde } from './serde.js';
import { globalTableSpec } from './global-table.js';
import { storeSpec } from './store.js';
import { createLocalSerde, createTopologyTestDriver } from './test-driver.js';
import type { ListenEvent } from './records.js';
import type { Topology } from './topology.js';

let serde: AvroSerde;
beforeAll(async () => { serde = await createLocalSerde(join(findRootDir(), 'schemas')); });

const listen = (user: string, id: string, at = 1000): ListenEvent => ({
  eventId: id, userId: user, trackId: 't', playlistId: null, source: 'LIBRARY', msPlayed: 1, trackDurationMs: 2, eventTime: at, recommendationId: null,
});

describe('the topology test driver and the task runtime (issue 8)', () => {
  it('counts per user across both inputs of a task, forwarding each running count', async () => {
    const d = createTopologyTestDriver(createCountingTopology({ applicationId: 'count' }), { serde, partitions: 3 });
    await d.pipe('listens', 'ana', listen('ana', 'l1'), { partition: 1 });
    await d.pipe('listens', 'ana', listen('ana', 'l2'), { partition: 1 });
    await d.pipe('feedback', 'ana', { eventId: 'f1', userId: 'ana', kind: 'SKIP', trackId: 't', playlistId: null, recommendationId: null, position: null, eventTime: 1 }, { partition: 1 });
    expect(d.store(USER_COUNTS, 1)).toEqual(new Map([['ana', { listens: 2, feedback: 1 }]]));
    expect((await d.outputs('interactionWindows')).map((o) => o.value.interactions[0]!.events)).toEqual([1, 2, 3]);
    expect(d.changelog(USER_COUNTS).map((r) => r.partition)).toEqual([1, 1, 1]);
  });

  it('leaves stores and outputs exactly as they were when a batch fails at commit', async () => {
    const d = createTopologyTestDriver(createCountingTopology({ applicationId: 'count' }), { serde });
    await d.pipe('listens', 'ana', listen('ana', 'l1'));
    d.failNextCommit();
    await expect(d.pipe('listens', 'ana', listen('ana', 'l2'))).rejects.toThrow(/injected commit failure/);
    expect(d.store(USER_COUNTS)).toEqual(new Map([['ana', { listens: 1, feedback: 0 }]]));
    expect(await d.outputs('interactionWindows')).toHaveLength(1);
    expect(d.changelog(USER_COUNTS)).toHaveLength(1);
    await d.pipe('listens', 'ana', listen('ana', 'l2')); // the redone batch counts once
    expect(d.store(USER_COUNTS).get('ana')).toEqual({ listens: 2, feedback: 0 });
  });

  it('dead-letters an undecodable record and a record its processor rejects, undoing that record’s store writes', async () => {
    const seen = storeSpec<number>('seen');
    const topology: Topology<'listens'> = {
      applicationId: 'picky', inputs: ['listens'], stores: [seen],
      processor: () => ({
        process(r, ctx) {
          ctx.store(seen).put(r.value.eventId, 1);
          if (r.value.trackId === 'bad') throw new Error('track bad is not allowed');
        },
      }),
    };
    const d = createTopologyTestDriver(topology, { serde });
    await d.pipe('listens', 'ana', listen('ana', 'ok1'));
    await d.pipeBytes('listens', 'ana', Buffer.from('not avro'));
    await d.pipe('listens', 'ana', { ...listen('ana', 'x'), trackId: 'bad' });
    await d.pipe('listens', 'ana', listen('ana', 'ok2'));
    expect([...d.store(seen).keys()]).toEqual(['ok1', 'ok2']);
    expect(d.deadLetters().map((x) => [x.code, x.reason])).toEqual([
      ['DECODE', expect.stringMatching(/not in Confluent wire format/)],
      ['PROCESSING', 'track bad is not allowed'],
    ]);
    expect(d.stats.deadLettered).toBe(2);
  });

  it('rebuilds every task from its changelog on restart: the stores come back as they were', async () => {
    const d = createTopologyTestDriver(createCountingTopology({ applicationId: 'count', forward: false }), { serde, partitions: 2 });
    for (let i = 0; i < 20; i++) await d.pipe('listens', `u${i % 5}`, listen(`u${i % 5}`, `l${i}`));
    const before = [d.store(USER_COUNTS, 0), d.store(USER_COUNTS, 1)];
    expect([...before[0]!.values(), ...before[1]!.values()].reduce((s, c) => s + c.listens, 0)).toBe(20);
    await d.restart();
    expect([d.store(USER_COUNTS, 0), d.store(USER_COUNTS, 1)]).toEqual(before);
  });

  it('punctuates in stream time and in wall-clock time', async () => {
    const ticks: string[] = [];
    const topology: Topology<'listens'> = {
      applicationId: 'ticker', inputs: ['listens'], punctuate: [{ type: 'stream-time', everyMs: 1000 }, { type: 'wall-clock', everyMs: 500 }],
      processor: () => ({ process() {}, punctuate(type, time) { ticks.push(`${type}@${time}`); } }),
    };
    const d = createTopologyTestDriver(topology, { serde });
    await d.pipe('listens', 'a', listen('a', '1'), { timestamp: 10_000 }); // starts the stream-time schedule
    await d.pipe('listens', 'a', listen('a', '2'), { timestamp: 10_500 });
    await d.pipe('listens', 'a', listen('a', '3'), { timestamp: 11_000 });
    await d.pipe('listens', 'a', listen('a', '4'), { timestamp: 13_700 });
    await d.advanceWallClock(1200);
    expect(ticks).toEqual(['stream-time@11000', 'stream-time@13700', 'wall-clock@500', 'wall-clock@1000']);
  });

  it('reads a global table in process: a listen of a known playlist finds it, one of a deleted playlist does not', async () => {
    const playlists = globalTableSpec('playlists', 'playlists');
    const found: Array<string | undefined> = [];
    const topology: Topology<'listens'> = {
      applicationId: 'joiner', inputs: ['listens'], globals: [playlists],
      processor: () => ({ process(r, ctx) { found.push(ctx.global(playlists).get(r.value.playlistId ?? '')?.name); } }),
    };
    const d = createTopologyTestDriver(topology, { serde });
    const p9 = { eventId: 'e', playlistId: 'p9', kind: 'CREATE' as const, ownerId: 'o', name: 'Rainy Sunday', tracks: ['t'], followers: 1, organic: true, eventTime: 1 };
    await d.pipeGlobal(playlists, 'p9', p9);
    await d.pipe('listens', 'ana', { ...listen('ana', 'l1'), playlistId: 'p9' });
    await d.pipeGlobal(playlists, 'p9', null);
    await d.pipe('listens', 'ana', { ...listen('ana', 'l2'), playlistId: 'p9' });
    expect(found).toEqual(['Rainy Sunday', undefined]);
  });
});

describe('timestamp order across a task\'s inputs (issue 8)', () => {
  const feedback = (user: string, id: string) => ({ eventId: id, userId: user, kind: 'SKIP' as const, trackId: 't', playlistId: null, recommendationId: null, position: null, eventTime: 1 });
  /** Records what each task's processor sees: `${partition}:${input}@${timestamp}`. */
  function recorder(seen: string[]): Topology<'listens' | 'feedback'> {
    return {
      applicationId: 'order', inputs: ['listens', 'feedback'],
      processor: (p) => ({ process(r) { seen.push(`${p}:${r.input}@${r.timestamp}`); } }),
    };
  }

  it('hands records piped out of order across inputs to the processor in timestamp order, ties in input order', async () => {
    const seen: string[] = [];
    const d = createTopologyTestDriver(recorder(seen), { serde, maxTaskIdleMs: 1000 });
    // all listens first, then all feedback, timestamps alternating; 30 on both inputs
    for (const ts of [10, 30, 50]) await d.pipe('listens', 'ana', listen('ana', `l${ts}`), { timestamp: ts });
    expect(seen).toEqual([]); // feedback has nothing buffered: the task waits for it
    for (const ts of [30, 20, 40]) await d.pipe('feedback', 'ana', feedback('ana', `f${ts}`), { timestamp: ts });
    // feedback stays in offset order within its input (30 before 20); the heads decide across inputs
    expect(seen).toEqual(['0:listens@10', '0:listens@30', '0:feedback@30', '0:feedback@20', '0:feedback@40']);
    await d.advanceWallClock(999);
    expect(seen).toHaveLength(5); // listens@50 waits for feedback until the idle time is over
    await d.advanceWallClock(1);
    expect(seen.at(-1)).toBe('0:listens@50');
    expect(d.stats.processed).toBe(6);
  });

  it('orders each task by itself, and breaks ties by input, then by offset', async () => {
    const seen: string[] = [];
    const d = createTopologyTestDriver(recorder(seen), { serde, partitions: 2, maxTaskIdleMs: 500 });
    await d.pipe('feedback', 'x', feedback('x', 'f1'), { partition: 1, timestamp: 5 });
    await d.pipe('feedback', 'x', feedback('x', 'f2'), { partition: 1, timestamp: 7 });
    await d.pipe('listens', 'a', listen('a', 'a1'), { partition: 0, timestamp: 7 });
    await d.pipe('feedback', 'b', feedback('b', 'b1'), { partition: 0, timestamp: 7 });
    await d.pipe('listens', 'a', listen('a', 'a2'), { partition: 0, timestamp: 7 });
    await d.pipe('listens', 'y', listen('y', 'y1'), { partition: 1, timestamp: 6 });
    await d.pipe('feedback', 'b', feedback('b', 'b2'), { partition: 0, timestamp: 8 });
    await d.pipe('listens', 'y', listen('y', 'y2'), { partition: 1, timestamp: 9 });
    await d.advanceWallClock(500);
    expect(seen.filter((s) => s.startsWith('0:'))).toEqual(['0:listens@7', '0:listens@7', '0:feedback@7', '0:feedback@8']);
    expect(seen.filter((s) => s.startsWith('1:'))).toEqual(['1:feedback@5', '1:listens@6', '1:feedback@7', '1:listens@9']);
  });

  it('processes each piped record at once without an idle time, as before', async () => {
    const seen: string[] = [];
    const d = createTopologyTestDriver(recorder(seen), { serde });
    await d.pipe('listens', 'ana', listen('ana', 'l1'), { timestamp: 50 });
    await d.pipe('feedback', 'ana', feedback('ana', 'f1'), { timestamp: 10 });
    expect(seen).toEqual(['0:listens@50', '0:feedback@10']);
  });
});
