import { describe, expect, it } from 'vitest';
import { windowsTopology } from '../../processors/windows.js';
import {
  createStreamsApp, createTypedProducer, DLQ_HEADERS, groupLag, headerText, type FeedbackEvent, type FeedbackKind, type InteractionWindow, type ListenEvent,
  type StreamsApp,
} from '../../streams/index.js';
import { readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

const W = 60_000;
const G = 10_000;
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

let seq = 0;
const listen = (userId: string, at: number, playlistId: string | null, msPlayed = 180_000): ListenEvent => ({
  eventId: `l${++seq}`, userId, trackId: 'spotify:track:1', playlistId, source: 'ORGANIC_PLAYLIST', msPlayed, trackDurationMs: 200_000, eventTime: at, recommendationId: null,
});
const feedback = (userId: string, at: number, kind: FeedbackKind, playlistId: string): FeedbackEvent => ({
  eventId: `f${++seq}`, userId, kind, trackId: null, playlistId, recommendationId: null, position: null, eventTime: at,
});

async function produce(bed: TestBed, listens: ListenEvent[], feedbackEvents: FeedbackEvent[] = []): Promise<void> {
  const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  try {
    if (listens.length) await producer.send('listens', listens.map((v) => ({ key: v.userId, value: v })));
    if (feedbackEvents.length) await producer.send('feedback', feedbackEvents.map((v) => ({ key: v.userId, value: v })));
  } finally {
    await producer.disconnect();
  }
}

async function caughtUp(bed: TestBed, appId: string): Promise<boolean> {
  for (const t of ['listens', 'feedback'] as const) if ((await groupLag(bed.kafka, appId, bed.topics.name(t))) !== 0n) return false;
  return true;
}

/** The windows written so far (read_committed), in offset order per partition. */
async function windowsWritten(bed: TestBed): Promise<InteractionWindow[]> {
  const out: InteractionWindow[] = [];
  for (const m of await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'))) out.push(await bed.serde.decode('interactionWindows', m.value as Buffer));
  return out;
}

describe('interaction windows on the real broker', () => {
  it('emits each closed window once, counting every event exactly once across a restart in the middle of the window', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    const appId = bed.unique('windows');
    const T0 = Math.floor(Date.now() / W) * W - 30 * W; // window 0 is [T0, T0 + W), half an hour ago
    const late = { n: 0 };
    const start = async (): Promise<StreamsApp> => {
      const app = createStreamsApp({
        kafka: bed.kafka, serde: bed.serde,
        topology: windowsTopology({ applicationId: appId, windowMs: W, graceMs: G, onLate: (n) => { late.n += n; } }),
      });
      await app.start();
      return app;
    };

    // window 0, first part; the first app processes it and stops with the window open
    await produce(bed,
      USERS.flatMap((u) => [
        listen(u, T0 + 1_000, 'p1'), // play +1
        listen(u, T0 + 2_000, 'p1', 5_000), // skip -0.5
        listen(u, T0 + 3_000, null), // no playlist: ignored
        { ...listen(u, T0 + 4_000, 'p1'), msPlayed: -5 }, // invalid: dead-lettered
      ]),
      USERS.flatMap((u) => [feedback(u, T0 + 4_500, 'FOLLOW_PLAYLIST', 'p2'), feedback(u, T0 + 5_000, 'CLICK', 'p1')]), // +3, +1
    );
    const first = await start();
    try {
      await waitFor(() => caughtUp(bed, appId), 'the first app to commit the first part of the window', 120_000, 250);
    } finally {
      await first.stop();
    }
    expect(await windowsWritten(bed)).toEqual([]); // open: nothing emitted yet

    // window 0, second part, and the next window, for a new instance that restores the open windows
    await produce(bed,
      USERS.flatMap((u) => [
        listen(u, T0 + W - 10_000, 'p1'), // +1
        listen(u, T0 + W + 2_000, 'p2'), // window 1: +1; stream time T0 + W + 2 s
        listen(u, T0 + W - 1_000, 'p1'), // after it in the same partition: out of order, within grace: +1
      ]),
      USERS.map((u) => feedback(u, T0 + W - 5_000, 'DISMISS', 'p3')), // -2
    );
    const second = await start();
    try {
      await waitFor(() => caughtUp(bed, appId), 'the second app to commit the rest of the window', 120_000, 250);
      expect(await windowsWritten(bed)).toEqual([]); // stream time T0 + W + 2 s: still within the grace period

      // stream time passes the end of window 1 plus grace for every user's task: windows 0 and 1 close
      await produce(bed, USERS.map((u) => listen(u, T0 + 2 * W + G, null)));
      await waitFor(async () => (await windowsWritten(bed)).length >= 2 * USERS.length, 'every user’s two windows', 120_000, 250);
      await waitFor(() => caughtUp(bed, appId), 'the closing listens to be committed', 120_000, 250);

      // a late event, then one that closes two more windows: the late one is dropped and reopens nothing
      await produce(bed, [listen('u0', T0 + 6_000, 'p9'), listen('u0', T0 + 4 * W + G, null)]);
      await waitFor(() => caughtUp(bed, appId), 'the late listen to be committed', 120_000, 250);
    } finally {
      await second.stop();
    }
    expect(late.n).toBe(1);

    const written = await windowsWritten(bed);
    const byKey = new Map<string, InteractionWindow[]>();
    for (const w of written) byKey.set(`${w.userId}@${w.windowStart - T0}`, [...(byKey.get(`${w.userId}@${w.windowStart - T0}`) ?? []), w]);
    expect([...byKey.keys()].sort()).toEqual(USERS.flatMap((u) => [`${u}@0`, `${u}@${W}`]).sort());
    for (const u of USERS) {
      expect(byKey.get(`${u}@0`), u).toEqual([{ userId: u, windowStart: T0, windowEnd: T0 + W, interactions: [
        { playlistId: 'p1', weight: 3.5, events: 5 }, // +1 -0.5 +1 (click) +1 +1: each event once, across the restart
        { playlistId: 'p2', weight: 3, events: 1 },
        { playlistId: 'p3', weight: -2, events: 1 },
      ] }]);
      expect(byKey.get(`${u}@${W}`), u).toEqual([{ userId: u, windowStart: T0 + W, windowEnd: T0 + 2 * W, interactions: [{ playlistId: 'p2', weight: 1, events: 1 }] }]);
    }
    const keys = (await readTopicToEnd(bed.kafka, bed.topics.name('interactionWindows'))).map((m) => m.key?.toString());
    expect(keys.sort()).toEqual(written.map((w) => w.userId).sort()); // keyed by user

    const dead = await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'));
    expect(dead.map((m) => [headerText(m.headers, DLQ_HEADERS.code), headerText(m.headers, DLQ_HEADERS.reason)])).toEqual(
      USERS.map(() => ['VALIDATION', expect.stringMatching(/^listen l\d+: msPlayed -5 < 0$/)]),
    );
  });
});
