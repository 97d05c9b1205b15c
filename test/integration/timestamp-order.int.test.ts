import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  changelogTopic, createStreamsApp, createTypedProducer, groupLag, USER_COUNTS, type FeedbackEvent, type ListenEvent, type UserCounts,
} from '../../streams/index.js';
import { readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

const CHILD = fileURLToPath(new URL('../fixtures/order-child.ts', import.meta.url));

function startChild(args: string[]): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  return { child, lines };
}

/**
 * n listens, then n feedback events, each produced in one go, for users u0..u(users-1) (event i to user i % users);
 * record timestamps alternate between the inputs: listen i at t0 + 2i, feedback i at t0 + 2i + 1.
 */
async function produceInterleaved(bed: TestBed, n: number, users: number, t0: number): Promise<void> {
  const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  try {
    const listens = Array.from({ length: n }, (_, i): { key: string; value: ListenEvent; timestamp: number } => ({
      key: `u${i % users}`, value: { ...SAMPLES.listens.value, eventId: `l${i}`, userId: `u${i % users}` }, timestamp: t0 + 2 * i,
    }));
    const feedback = Array.from({ length: n }, (_, i): { key: string; value: FeedbackEvent; timestamp: number } => ({
      key: `u${i % users}`, value: { ...SAMPLES.feedback.value, eventId: `f${i}`, userId: `u${i % users}`, kind: 'SKIP' }, timestamp: t0 + 2 * i + 1,
    }));
    await producer.send('listens', listens);
    await producer.send('feedback', feedback);
  } finally {
    await producer.disconnect();
  }
}

async function caughtUp(bed: TestBed, appId: string): Promise<boolean> {
  for (const t of ['listens', 'feedback'] as const) if ((await groupLag(bed.kafka, appId, bed.topics.name(t))) !== 0n) return false;
  return true;
}

// Issue 8: a task processes its records in timestamp order across its inputs (Kafka Streams' PartitionGroup)
describe('timestamp order across co-partitioned inputs', () => {
  it('hands each task its listens and feedback merged by timestamp, though all listens were produced first', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('order');
    const n = 600;
    await produceInterleaved(bed, n, 24, Date.now() - 60_000);
    const seen = new Map<number, Array<{ input: string; timestamp: number }>>();
    const app = createStreamsApp({
      kafka: bed.kafka, serde: bed.serde, maxTaskIdleMs: 60_000, flushEvery: 50,
      topology: {
        applicationId: appId, inputs: ['listens', 'feedback'],
        processor: (p) => ({ process(r) { seen.set(p, [...(seen.get(p) ?? []), { input: r.input, timestamp: r.timestamp }]); } }),
      },
    });
    await app.start();
    try {
      await waitFor(() => caughtUp(bed, appId), 'every record to be committed', 120_000, 250);
    } finally {
      await app.stop();
    }
    expect([...seen.values()].reduce((s, l) => s + l.length, 0)).toBe(2 * n);
    expect(seen.size).toBeGreaterThan(1);
    for (const [p, list] of seen) {
      const ts = list.map((r) => r.timestamp);
      expect(ts, `task ${p}`).toEqual([...ts].sort((a, b) => a - b)); // non-decreasing
      // and the inputs really alternate in it: each listen is followed by its own feedback (the next timestamp)
      expect(list.filter((r, i) => i > 0 && r.input !== list[i - 1]!.input).length, `task ${p}`).toBeGreaterThan(list.length / 2);
    }
  });

  it('killed mid-transaction and restarted, it loses and duplicates nothing, and stays in timestamp order', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('order-eos');
    const n = 300;
    const users = 15;
    await produceInterleaved(bed, n, users, Date.now() - 60_000);

    // first run: hangs inside a transaction after 400 of the 600 records, some outputs of it already sent
    const first = startChild([bed.topics.prefix, appId, '400']);
    try {
      await waitFor(() => first.lines.includes('BLOCKED'), 'the first run to block mid-transaction', 120_000);
    } finally {
      first.child.kill('SIGKILL');
    }
    await once(first.child, 'exit');
    const lag = async () => (await groupLag(bed.kafka, appId, bed.topics.name('listens'))) + (await groupLag(bed.kafka, appId, bed.topics.name('feedback')));
    // some transactions of the first run committed (their offsets show in the group a moment after the commit)
    await waitFor(async () => (await lag()) < BigInt(2 * n), 'the first run\'s committed offsets', 30_000, 250);
    expect(await lag()).toBeGreaterThan(0n); // and it was killed with work left

    // second run: fences the dead producers, aborts their transactions, redoes what they did not commit
    const second = startChild([bed.topics.prefix, appId]);
    try {
      await waitFor(() => caughtUp(bed, appId), 'the restarted run to commit every input', 120_000, 250);
      second.child.kill('SIGTERM');
      const [code] = (await once(second.child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      second.child.kill('SIGKILL');
    }
    expect([...first.lines, ...second.lines].filter((l) => l.startsWith('DISORDER'))).toEqual([]);

    // each user: n / users listens and as many feedback events, counted once, every running count forwarded once
    const want = new Map<string, UserCounts>(Array.from({ length: users }, (_, u) => [`u${u}`, { listens: n / users, feedback: n / users }]));
    const store = new Map<string, UserCounts>();
    for (const m of await readTopicToEnd(bed.kafka, changelogTopic(bed.topics.prefix, appId, USER_COUNTS.name))) {
      store.set(m.key!.toString(), JSON.parse(m.value!.toString()) as UserCounts);
    }
    expect(store).toEqual(want);
    const forwarded = new Map<string, number[]>();
    for (const m of await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'))) {
      const w = await bed.serde.decode('interactionWindows', m.value as Buffer);
      forwarded.set(w.userId, [...(forwarded.get(w.userId) ?? []), w.interactions[0]!.events]);
    }
    expect(forwarded.size).toBe(users);
    for (const [user, counts] of forwarded) expect(counts, user).toEqual(Array.from({ length: 2 * n / users }, (_, i) => i + 1));
    // read_uncommitted shows the aborted outputs: the kill really happened with outputs in flight
    const everything = await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'), { readUncommitted: true });
    expect(everything.length).toBeGreaterThan(2 * n);
  });
});
