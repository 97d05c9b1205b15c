import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { createGateway, mintToken, type Gateway } from '../../gateway/index.js';
import { importDataset } from '../../ingest/index.js';
import { createGatewayClient } from '../../simulator/index.js';
import { createTypedProducer, readTopicSnapshot, type FeedbackEvent, type ListenEvent, type RecommendationList, type TypedProducer } from '../../streams/index.js';
import { waitFor } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-simgw-'));
const secret = randomBytes(32).toString('hex');
let bed: TestBed;
let gateway: Gateway;
let producer: TypedProducer;
let lister: Consumer;
let world: string;
/** Lists the stand-in recommender wrote, by recommendation id → user. */
const written = new Map<string, string>();

function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], {
      env: { ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, BUDDIES_JWT_SECRET: secret, CLICKHOUSE_DATABASE: `nodb_${randomBytes(4).toString('hex')}` },
      timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  bed = await createTestBed(['playlists', 'listens', 'feedback', 'recommendations', 'deadLetters']);
  world = join(dir, 'world');
  await generateWorld({ users: 80, playlists: 200, seed: 7, out: world, communities: 4 });
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  await importDataset({ kind: 'mpd', path: world, producer, stateFile: join(dir, 'state.json') });
  const playlists: string[] = [];
  for (const m of await readTopicSnapshot(bed.kafka, bed.topics.name('playlists'))) {
    if (m.value && playlists.length < 10) playlists.push((await bed.serde.decode('playlists', m.value)).playlistId);
  }
  gateway = await createGateway({
    kafka: bed.kafka, serde: bed.serde, schemasDir: bed.schemasDir, auth: { secret }, port: 0, host: '127.0.0.1', groupPrefix: bed.unique('gw'),
  });
  // A stand-in for the recommender (the subject here is the app path, not the ranking): every user the gateway
  // hears a listen from gets a list of the world's playlists on the recommendations topic, which the gateway pushes.
  lister = bed.kafka.consumer({ groupId: bed.unique('lister') });
  await lister.connect();
  await lister.subscribe({ topics: [bed.topics.name('listens')], fromBeginning: true });
  const served = new Set<string>();
  await lister.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const listen = await bed.serde.decode('listens', message.value);
      if (listen.source !== 'LIBRARY' || served.has(listen.userId) || listen.eventId.startsWith('mpd:')) return;
      served.add(listen.userId);
      const recommendationId = randomUUID();
      written.set(recommendationId, listen.userId);
      await producer.send('recommendations', [{ key: listen.userId, value: {
        recommendationId, userId: listen.userId, modelVersion: 'stand-in', coldStart: false, generatedAt: Date.now(),
        items: playlists.map((playlistId, i) => ({ playlistId, rank: i + 1, score: 1 - i / 10, explanation: { buddyId: null, tasteMatch: 0.5, reason: 'stand-in' } })),
      } }]);
    },
  });
}, 240_000);

afterAll(async () => {
  await lister?.disconnect();
  await gateway?.close();
  await producer?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

// Issue 11, part 6: simulated users as apps of the gateway.
describe('buddies simulate through the gateway', () => {
  it('users get their lists by push and their listens and feedback land on Kafka through the gateway', async () => {
    const r = await buddies('simulate', '--world', world, '--users', '30', '--duration', '20s', '--rate', '300', '--speed', '20000', '--seed', '2',
      '--via', 'gateway', '--gateway-url', `ws://127.0.0.1:${gateway.port}/v1/stream`);
    expect(r.stderr).not.toMatch(/Error|not reachable/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/30 users connected to the gateway/);
    const m = /(\d+) recommendation lists pushed by the gateway; not accepted by the gateway: none/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);

    // every listen and feedback event of the simulated users went through the gateway's producer to Kafka
    const decode = async <T extends 'listens' | 'feedback'>(topic: T) => Promise.all((await readTopicSnapshot(bed.kafka, bed.topics.name(topic)))
      .filter((x) => x.value).map((x) => bed.serde.decode(topic, x.value as Buffer)));
    const listens = (await decode('listens') as ListenEvent[]).filter((l) => !l.eventId.startsWith('mpd:'));
    const feedback = (await decode('feedback') as FeedbackEvent[]).filter((f) => !f.eventId.startsWith('mpd:'));
    expect(listens.length).toBeGreaterThan(0);
    const impressions = feedback.filter((f) => f.kind === 'IMPRESSION');
    expect(impressions.length).toBeGreaterThan(0);
    // feedback names lists the users received by push, each the user's own
    for (const f of feedback.filter((x) => x.recommendationId !== null)) expect(written.get(f.recommendationId!)).toBe(f.userId);
    // plays of a recommended playlist carry its recommendation id
    expect(listens.some((l) => l.recommendationId !== null && written.get(l.recommendationId) === l.userId)).toBe(true);
    // the simulated users' own output counted what was written
    const counts = /(\d+) listens, (\d+) feedback/.exec(r.stdout);
    expect(Number(counts?.[1])).toBe(listens.length);
    expect(Number(counts?.[2])).toBe(feedback.length);
    expect(gateway.stats().connections).toBe(0); // every simulated user hung up at the end
  }, 180_000);

  it('the client speaks the real protocol: header and message auth, push, current list on subscribe, feedback ack, error codes', async () => {
    const url = `ws://127.0.0.1:${gateway.port}/v1/stream`;
    const user = `probe-${randomBytes(3).toString('hex')}`;
    const token = await mintToken({ secret, userId: user });
    const pushed: RecommendationList[] = [];
    const live = createGatewayClient({ url, token, onList: (l) => pushed.push(l) });
    await live.connect();
    const list: RecommendationList = {
      recommendationId: randomUUID(), userId: user, modelVersion: 'probe', coldStart: true, generatedAt: Date.now(), dailyPick: false,
      items: [{ playlistId: 'p-probe', rank: 1, score: 1, explanation: { buddyId: null, tasteMatch: 0, reason: 'probe' } }],
    };
    await producer.send('recommendations', [{ key: user, value: list }]);
    await waitFor(() => pushed.length > 0, 'the pushed list', 20_000, 20);
    expect(pushed[0]).toEqual(list);
    // a second connection, authenticated by its first message, gets the current list at once on subscribe
    const later: RecommendationList[] = [];
    const browser = createGatewayClient({ url, token, authVia: 'message', onList: (l) => later.push(l) });
    await browser.connect();
    await waitFor(() => later.length > 0, 'the current list on subscribe', 10_000, 20);
    expect(later[0]?.recommendationId).toBe(list.recommendationId);
    await browser.feedback({ eventId: randomUUID(), userId: user, kind: 'CLICK', playlistId: 'p-probe', trackId: null, recommendationId: list.recommendationId, position: 1, eventTime: Date.now() });
    await expect(browser.feedback({ eventId: randomUUID(), userId: 'someone-else', kind: 'CLICK', playlistId: null, trackId: null, recommendationId: null, position: null, eventTime: Date.now() }))
      .rejects.toMatchObject({ code: expect.stringMatching(/^(bad_event|forbidden)$/) });
    expect(await live.ping()).toBeGreaterThanOrEqual(0);
    await Promise.all([live.close(), browser.close()]);
    const forged = createGatewayClient({ url, token: await mintToken({ secret: 'x'.repeat(40), userId: user }) });
    await expect(forged.connect()).rejects.toMatchObject({ code: 'bad_token' });
    const expired = createGatewayClient({ url, token: await mintToken({ secret, userId: user, ttlS: 1, now: Date.now() - 10_000 }) });
    await expect(expired.connect()).rejects.toMatchObject({ code: 'token_expired' });
  }, 60_000);

  it('with --via gateway and no gateway, says so in one line (exit 1)', async () => {
    const r = await buddies('simulate', '--world', world, '--users', '5', '--duration', '2s', '--via', 'gateway', '--gateway-url', 'ws://127.0.0.1:9/v1/stream');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`buddies simulate: no gateway answers at http://127.0.0.1:9/healthz: start it with 'buddies gateway' (or pass --gateway-url, or --via kafka)`]);
  }, 60_000);
});
