import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  changelogTopic, coPartitionedAssigner, createCountingTopology, createIdempotentProducer, createStreamsApp, createTypedProducer, globalTableSpec, groupLag,
  USER_COUNTS, type FeedbackEvent, type ListenEvent, type UserCounts,
} from '../../streams/index.js';
import { readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

const CHILD = fileURLToPath(new URL('../fixtures/counting-child.ts', import.meta.url));

interface Child {
  readonly child: ChildProcess;
  readonly lines: string[];
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  return { child, lines };
}

async function stopChild(c: Child): Promise<number | null> {
  if (c.child.exitCode !== null) return c.child.exitCode;
  c.child.kill('SIGTERM');
  const [code] = (await once(c.child, 'exit')) as [number | null];
  return code;
}

/** Users u0..u(users-1); event i goes to user i % users, every third one a feedback event. */
function events(from: number, to: number, users: number): { listens: ListenEvent[]; feedback: FeedbackEvent[] } {
  const listens: ListenEvent[] = [];
  const feedback: FeedbackEvent[] = [];
  for (let i = from; i < to; i++) {
    const userId = `u${i % users}`;
    if (i % 3 === 2) feedback.push({ ...SAMPLES.feedback.value, eventId: `f${i}`, userId, kind: 'SKIP' });
    else listens.push({ ...SAMPLES.listens.value, eventId: `l${i}`, userId });
  }
  return { listens, feedback };
}

function expectedCounts(n: number, users: number): Map<string, UserCounts> {
  const out = new Map<string, UserCounts>();
  for (let i = 0; i < n; i++) {
    const c = out.get(`u${i % users}`) ?? { listens: 0, feedback: 0 };
    if (i % 3 === 2) c.feedback++;
    else c.listens++;
    out.set(`u${i % users}`, c);
  }
  return out;
}

async function produce(bed: TestBed, from: number, to: number, users: number): Promise<void> {
  const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  const { listens, feedback } = events(from, to, users);
  await producer.send('listens', listens.map((v) => ({ key: v.userId, value: v })));
  await producer.send('feedback', feedback.map((v) => ({ key: v.userId, value: v })));
  await producer.disconnect();
}

async function caughtUp(bed: TestBed, appId: string): Promise<boolean> {
  for (const t of ['listens', 'feedback'] as const) if ((await groupLag(bed.kafka, appId, bed.topics.name(t))) !== 0n) return false;
  return true;
}

/** The store as its changelog holds it (read_committed, last record per key). */
async function storeFromChangelog(bed: TestBed, appId: string): Promise<Map<string, UserCounts>> {
  const out = new Map<string, UserCounts>();
  for (const m of await readTopicToEnd(bed.kafka, changelogTopic(bed.topics.prefix, appId, USER_COUNTS.name))) {
    const key = m.key!.toString();
    if (m.value === null) out.delete(key);
    else out.set(key, JSON.parse(m.value.toString()) as UserCounts);
  }
  return out;
}

/** Per user, the running counts the app forwarded (read_committed), in offset order. */
async function forwardedCounts(bed: TestBed): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const m of await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'))) {
    const w = await bed.serde.decode('interactionWindows', m.value as Buffer);
    out.set(w.userId, [...(out.get(w.userId) ?? []), w.interactions[0]!.events]);
  }
  return out;
}

describe('the stream runtime on the real broker (issue 8)', () => {
  it('two instances on 6 partitions, one SIGKILLed mid-stream and restarted: stores as a clean run, each output once', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count');
    const users = 40;
    const total = 2400;
    await produce(bed, 0, 800, users);
    const a = startChild([bed.topics.prefix, appId]);
    const b = startChild([bed.topics.prefix, appId]);
    try {
      await waitFor(() => a.lines.includes('RUNNING') && b.lines.includes('RUNNING'), 'both instances to run', 120_000);
      await waitFor(() => caughtUp(bed, appId), 'the first 800 events to be committed', 120_000, 250);
      await produce(bed, 800, 1600, users);
      a.child.kill('SIGKILL'); // mid-stream: b takes over a's tasks, fencing a's producers
      await once(a.child, 'exit');
      const a2 = startChild([bed.topics.prefix, appId]);
      try {
        await produce(bed, 1600, total, users);
        await waitFor(() => caughtUp(bed, appId), 'every event to be committed', 180_000, 250);
        expect(await stopChild(a2)).toBe(0);
      } finally {
        a2.child.kill('SIGKILL');
      }
      expect(await stopChild(b)).toBe(0);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }

    expect(await storeFromChangelog(bed, appId)).toEqual(expectedCounts(total, users));
    const forwarded = await forwardedCounts(bed);
    const want = expectedCounts(total, users);
    expect(forwarded.size).toBe(users);
    for (const [user, counts] of forwarded) {
      const n = want.get(user)!.listens + want.get(user)!.feedback;
      expect(counts, user).toEqual(Array.from({ length: n }, (_, i) => i + 1)); // each running count once, none skipped
    }
  });

  it('a batch that fails after processing, with outputs already sent, is aborted and redone: stores and outputs count it once', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count-fail');
    const users = 10;
    const total = 300;
    await produce(bed, 0, total, users);
    // from the 150th record on, one at least 8 into its batch throws after its store write: outputs of its batch
    // were already sent in the open transaction (the child sends every 5 records)
    const child = startChild([bed.topics.prefix, appId, '--fail-once-at', '150']);
    try {
      await waitFor(() => caughtUp(bed, appId), 'every event to be committed', 120_000, 250);
      expect(child.lines.some((l) => l.startsWith('ABORTED'))).toBe(true);
      expect(await stopChild(child)).toBe(0);
    } finally {
      child.child.kill('SIGKILL');
    }
    expect(await storeFromChangelog(bed, appId)).toEqual(expectedCounts(total, users));
    for (const [user, counts] of await forwardedCounts(bed)) {
      const c = expectedCounts(total, users).get(user)!;
      expect(counts, user).toEqual(Array.from({ length: c.listens + c.feedback }, (_, i) => i + 1));
    }
    // the aborted outputs are in the log, invisible under read_committed
    const everything = await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'), { readUncommitted: true });
    expect(everything.length).toBeGreaterThan(total);
  });

  it('a global table is caught up before the first record is processed, then follows the topic live', async () => {
    const bed = await createTestBed(['listens', 'playlists', 'interactionWindows', 'deadLetters']);
    const playlists = globalTableSpec('playlists', 'playlists');
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const playlist = (id: string, name: string) => ({ key: id, value: { ...SAMPLES.playlists.value, playlistId: id, name } });
    await producer.send('playlists', Array.from({ length: 30 }, (_, i) => playlist(`p${i}`, `list ${i}`)));
    await producer.send('listens', [{ key: 'u1', value: { ...SAMPLES.listens.value, eventId: 'l1', userId: 'u1', playlistId: 'p29' } }]);
    const seen: Array<string | undefined> = [];
    const app = createStreamsApp({
      kafka: bed.kafka, serde: bed.serde,
      topology: {
        applicationId: bed.unique('join'), inputs: ['listens'], globals: [playlists],
        processor: () => ({ process(r, ctx) { seen.push(ctx.global(playlists).get(r.value.playlistId ?? '')?.name); } }),
      },
    });
    await app.start();
    try {
      await waitFor(() => seen.length === 1, 'the first listen');
      expect(seen).toEqual(['list 29']); // the last of 30 playlists produced before start was there
      await producer.send('playlists', [playlist('p99', 'made later')]);
      await waitFor(async () => {
        // counted before the send: the app may process the listen before the broker's ack reaches the producer
        const before = seen.length;
        await producer.send('listens', [{ key: 'u1', value: { ...SAMPLES.listens.value, eventId: `l${before + 1}`, userId: 'u1', playlistId: 'p99' } }]);
        await waitFor(() => seen.length > before, 'the listen to be processed');
        return seen.at(-1) === 'made later';
      }, 'the new playlist to reach the global table', 60_000, 200);
    } finally {
      await app.stop();
      await producer.disconnect();
    }
  });

  it('scales 1 → 2 → 3 → 1 instances while records flow: nothing lost, nothing counted twice', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count-scale');
    const users = 30;
    let produced = 0;
    let producing = true;
    const flow = (async () => { // a steady stream: 60 events at a time until told to stop
      while (producing) {
        await produce(bed, produced, produced + 60, users);
        produced += 60;
      }
    })();
    const a = startChild([bed.topics.prefix, appId]);
    const extra: Child[] = [];
    try {
      await waitFor(() => a.lines.includes('RUNNING'), 'the first instance', 120_000);
      const grows = async (n: number) => {
        const c = startChild([bed.topics.prefix, appId]);
        extra.push(c);
        await waitFor(() => c.lines.includes('RUNNING'), `instance ${n}`, 120_000);
        const before = produced;
        await waitFor(() => produced >= before + 300, 'records to flow meanwhile', 120_000, 50);
      };
      await grows(2);
      await grows(3);
      for (const c of extra) expect(await stopChild(c)).toBe(0); // back to one
      const before = produced;
      await waitFor(() => produced >= before + 300, 'records to flow on one instance', 120_000, 50);
      producing = false;
      await flow;
      await waitFor(() => caughtUp(bed, appId), 'every event to be committed', 180_000, 250);
      expect(await stopChild(a)).toBe(0);
    } finally {
      producing = false;
      a.child.kill('SIGKILL');
      for (const c of extra) c.child.kill('SIGKILL');
    }
    expect(await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'))).toHaveLength(0);
    const want = expectedCounts(produced, users);
    expect(await storeFromChangelog(bed, appId)).toEqual(want);
    for (const [user, counts] of await forwardedCounts(bed)) {
      const c = want.get(user)!;
      expect(counts, user).toEqual(Array.from({ length: c.listens + c.feedback }, (_, i) => i + 1));
    }
  });

  it('a task kept through a rebalance skips what it committed itself, though the group\'s offsets lag behind it', async () => {
    // kafkajs fetches from the group's committed offsets after every rebalance; a transaction's offsets show there
    // only a moment after its commit. Offsets set back to 0 by hand make that moment last for the test.
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count-kept');
    const users = 12;
    await produce(bed, 0, 240, users);
    const topics = [bed.topics.name('listens'), bed.topics.name('feedback')];
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createCountingTopology({ applicationId: appId }), sessionTimeoutMs: 6000 });
    await app.start();
    const other = bed.kafka.consumer({ groupId: appId, sessionTimeout: 6000, partitionAssigners: [coPartitionedAssigner] });
    try {
      await waitFor(() => caughtUp(bed, appId), 'the first 240 events to be committed', 120_000, 250);
      const stale = createIdempotentProducer(bed.kafka, bed.unique('stale-offsets'));
      await stale.connect();
      const txn = await stale.transaction();
      await txn.sendOffsets({ consumerGroupId: appId, topics: topics.map((topic) => ({ topic, partitions: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: '0' })) })) });
      await txn.commit();
      await stale.disconnect();
      // a second member joins (the app keeps half its tasks, and kafkajs fetches their partitions from offset 0
      // again), then leaves (the app gets every task back)
      let joined = false;
      other.on(other.events.GROUP_JOIN, () => { joined = true; });
      await other.connect();
      await other.subscribe({ topics, fromBeginning: true });
      await other.run({ autoCommit: false, eachBatch: async () => {} });
      await waitFor(() => joined && app.tasks().length === 3, 'the app to keep 3 tasks', 60_000);
      await other.disconnect();
      await waitFor(() => app.tasks().length === 6, 'the app to get every task back', 60_000);
      await produce(bed, 240, 480, users); // moves the group's offsets of every partition on
      await waitFor(() => caughtUp(bed, appId), 'every event to be committed', 120_000, 250);
    } finally {
      await other.disconnect().catch(() => {});
      await app.stop();
    }
    const want = expectedCounts(480, users);
    expect(await storeFromChangelog(bed, appId)).toEqual(want);
    for (const [user, counts] of await forwardedCounts(bed)) {
      const c = want.get(user)!;
      expect(counts, user).toEqual(Array.from({ length: c.listens + c.feedback }, (_, i) => i + 1));
    }
  });

  it('counts only the committed records of a transactional input, though aborted transactions of two producers overlap', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count-txin');
    const topic = bed.topics.name('listens');
    const listen = async (i: number) => ({ key: 'u1', value: await bed.serde.encode('listens', { ...SAMPLES.listens.value, eventId: `l${i}`, userId: 'u1' }), partition: 0 });
    const p1 = createIdempotentProducer(bed.kafka, bed.unique('tx1'));
    const p2 = createIdempotentProducer(bed.kafka, bed.unique('tx2'));
    await p1.connect();
    await p2.connect();
    try {
      const first = await p1.transaction(); // opens first, aborts last: kafkajs's own filter lets its first record through
      await first.send({ topic, acks: -1, messages: [await listen(1)] });
      const second = await p2.transaction();
      await second.send({ topic, acks: -1, messages: [await listen(2)] });
      await second.abort();
      await first.send({ topic, acks: -1, messages: [await listen(3)] });
      await first.abort();
      const third = await p2.transaction();
      await third.send({ topic, acks: -1, messages: [await listen(4), await listen(5)] });
      await third.commit();
    } finally {
      await p1.disconnect();
      await p2.disconnect();
    }
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createCountingTopology({ applicationId: appId }) });
    await app.start();
    try {
      await waitFor(() => caughtUp(bed, appId), 'the input to be committed', 120_000, 250);
      expect(app.stats.processed).toBe(2);
    } finally {
      await app.stop();
    }
    expect(await storeFromChangelog(bed, appId)).toEqual(new Map([['u1', { listens: 2, feedback: 0 }]]));
  });

  it('an instance frozen (SIGSTOP) inside a transaction past the session timeout is fenced when it resumes: none of its outputs appear', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('count-freeze');
    const users = 12;
    await produce(bed, 0, 240, users);
    const frozen = startChild([bed.topics.prefix, appId, '--stall-at', '1']);
    let other: Child | undefined;
    try {
      await waitFor(() => frozen.lines.includes('STALLED'), 'the first instance to stall inside a batch', 120_000);
      frozen.child.kill('SIGSTOP');
      other = startChild([bed.topics.prefix, appId]);
      // the frozen one misses its heartbeats: after its session times out, the other owns every task
      await waitFor(() => other!.lines.includes('TASKS 0,1,2,3,4,5'), 'the other instance to take every task', 120_000);
      await produce(bed, 240, 300, users);
      await waitFor(() => caughtUp(bed, appId), 'the other instance to commit everything', 120_000, 250);
      frozen.child.kill('SIGCONT');
      frozen.child.kill('SIGUSR2'); // finishes its batch and tries to commit
      await waitFor(() => frozen.lines.some((l) => l.startsWith('ABORTED')), 'the resumed instance to fail its commit', 60_000);
      expect(frozen.lines.find((l) => l.startsWith('ABORTED'))).toMatch(/fenced|epoch|rebalanc|not the current|coordinator|transaction/i);
      await waitFor(() => caughtUp(bed, appId), 'the group to be caught up again', 120_000, 250);
      // the resumed instance either rejoined (and stops cleanly) or, if its consumer could not recover, stopped
      // itself with exit 3 for a supervisor to restart: never up and idle
      expect([0, 3]).toContain(await stopChild(frozen));
      expect(await stopChild(other)).toBe(0);
    } finally {
      frozen.child.kill('SIGCONT');
      frozen.child.kill('SIGKILL');
      other?.child.kill('SIGKILL');
    }
    const want = expectedCounts(300, users);
    expect(await storeFromChangelog(bed, appId)).toEqual(want);
    for (const [user, counts] of await forwardedCounts(bed)) {
      const c = want.get(user)!;
      expect(counts, user).toEqual(Array.from({ length: c.listens + c.feedback }, (_, i) => i + 1));
    }
  });
});
