import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { importDataset } from '../../ingest/index.js';
import { saveFactors } from '../../models/bpr/index.js';
import { createIdMap } from '../../models/interactions.js';
import { inspectUser, recommenderApplicationId, type UserInspection } from '../../processors/index.js';
import { createModelRegistry, publishSavedModel } from '../../registry/index.js';
import { createTypedProducer, partitionOf, readTopicSnapshot, TOPICS, type ListenEvent, type RecommendationList, type TypedProducer } from '../../streams/index.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';
import { waitFor } from '../helpers/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'buddies-live-'));
const modelsDir = join(dir, 'models');
let bed: TestBed;
let database: string;
let producer: TypedProducer;
let child: ChildProcess | undefined;
let childLog = '';
const groupPrefix = `live-${randomUUID().slice(0, 8)}`;
const appId = recommenderApplicationId(groupPrefix, 'buddies');

const env = () => ({
  ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, CLICKHOUSE_DATABASE: database, BUDDIES_MODELS_DIR: modelsDir, BUDDIES_STACK_DIR: bed.cfg.stackDir, BUDDIES_METRICS_PORT: '0',
});

/** `buddies start` as the README runs it (the compiled CLI), on this test's topics, database and model registry. */
async function startSystem(): Promise<void> {
  childLog = '';
  const c = spawn('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), 'start', '--group-prefix', groupPrefix, '--refresh-every', '2'], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
  child = c;
  c.stderr?.on('data', (b: Buffer) => { childLog += b.toString(); });
  await waitFor(() => /warehouse, recommender, windows running/.test(childLog) || c.exitCode !== null, 'buddies start to run', 180_000, 200);
  if (c.exitCode !== null) throw new Error(`buddies start exited ${c.exitCode}:\n${childLog}`);
}

async function stopSystem(signal: NodeJS.Signals): Promise<void> {
  const c = child;
  if (!c || c.exitCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill(signal);
  await exited;
}

function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], { env: env(), timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Every list of the user on the recommendations topic (the partition of their key), oldest first. */
async function listsOf(userId: string): Promise<RecommendationList[]> {
  const p = partitionOf(userId, TOPICS.recommendations.partitions);
  const out: RecommendationList[] = [];
  for (const m of await readTopicSnapshot(bed.kafka, bed.topics.name('recommendations'), { partitions: [p] })) {
    if (m.key?.toString() === userId && m.value) out.push(await bed.serde.decode('recommendations', m.value));
  }
  return out;
}

const inspect = (userId: string): Promise<UserInspection> => inspectUser({ kafka: bed.kafka, serde: bed.serde, applicationId: appId, userId });

/** Tracks of community `c` (generated world truth), most popular first. */
function communityTracks(world: string, c: number): string[] {
  return readFileSync(join(world, 'truth/tracks.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'))
    .filter((f) => Number(f[1]) === c).sort((a, b) => Number(a[2]) - Number(b[2])).map((f) => f[0] as string);
}

async function play(user: string, tracks: readonly string[]): Promise<void> {
  const now = Date.now();
  await producer.send('listens', tracks.map((trackId, i): { key: string; value: ListenEvent } => ({ key: user, value: {
    eventId: randomUUID(), userId: user, trackId, playlistId: null, source: 'LIBRARY', msPlayed: 180_000, trackDurationMs: 200_000, eventTime: now + i, recommendationId: null,
  } })));
}

let world: string;

beforeAll(async () => {
  bed = await createTestBed(['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'interactionWindows', 'modelAnnouncements', 'deadLetters']);
  database = (await createTestWarehouse()).opts.database;
  world = join(dir, 'world');
  await generateWorld({ users: 300, playlists: 800, seed: 5, out: world, communities: 6 });
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  await importDataset({ kind: 'mpd', path: world, producer, stateFile: join(dir, 'state.json') });
  await startSystem();
}, 400_000);

afterAll(async () => {
  await stopSystem('SIGTERM');
  await producer?.disconnect();
  await dropTestWarehouses();
  rmSync(dir, { recursive: true, force: true });
});

// Issue 9: the live recommender on durable state, through `buddies start`.
describe('the live system on the real stack', () => {
  const tracks = () => communityTracks(world, 2);

  it('trained and announced the first track embeddings at the first start', async () => {
    const [v] = await createModelRegistry(modelsDir).list('TRACK_EMBEDDINGS');
    expect(v?.status).toBe('production');
    expect(childLog).toContain(`track embeddings ${v?.version} in use`);
  });

  it('pairs a listener who owns no playlist with listeners of their taste community', async () => {
    const t = tracks();
    await play('planted-a', t.slice(0, 12));
    await waitFor(async () => (await inspect('planted-a')).taste !== null, "planted-a's taste", 30_000, 200);
    await play('planted-b', t.slice(4, 16));
    await play('planted-c', t.slice(8, 20));
    for (const u of ['planted-b', 'planted-c']) {
      await waitFor(async () => (await inspect(u)).pairing?.buddies.some((b) => b.userId === 'planted-a') ?? false, `planted-a among ${u}'s buddies`, 30_000, 200);
    }
  });

  it('recommends a playlist created while it runs within 10 seconds', async () => {
    const t = tracks();
    const created = Date.now();
    await producer.send('playlists', [{ key: 'fresh-1', value: {
      eventId: randomUUID(), playlistId: 'fresh-1', kind: 'CREATE', ownerId: 'fresh-curator', name: 'Brand new', tracks: t.slice(30, 50), followers: 0, organic: true, eventTime: created,
    } }]);
    // a listener of the new playlist's taste, who has heard a part of it (its curator is their closest buddy), goes
    // on listening; the recommender learns of the playlist through its global table, a moment after it is written
    let list: RecommendationList | undefined;
    let n = 0;
    await waitFor(async () => {
      await play('planted-d', t.slice(30 + (n % 6), 31 + (n % 6)));
      n++;
      list = (await listsOf('planted-d')).find((l) => l.items.some((i) => i.playlistId === 'fresh-1'));
      return list !== undefined;
    }, 'fresh-1 in a list of planted-d', 10_000, 300);
    expect((list?.generatedAt ?? Infinity) - created).toBeLessThan(10_000);
    expect(list?.items.find((i) => i.playlistId === 'fresh-1')?.explanation.buddyId).toBe('fresh-curator');
  });

  it('names a BPR model announced while it runs in the next lists', async () => {
    const registry = createModelRegistry(modelsDir);
    const saved = join(dir, 'bpr');
    const items = createIdMap(['fresh-1']);
    await saveFactors({ factors: 2, itemBias: true, stride: 3, users: createIdMap(['planted-d']), items, userFactors: Float32Array.from([1, 0, 1]), itemFactors: Float32Array.from([1, 0, 0]) }, saved, { factors: 2, itemBias: true } as never, 'test');
    const v = await publishSavedModel(registry, 'BPR', saved);
    await registry.announce({ kafka: bed.kafka, serde: bed.serde }, 'BPR', v.version);
    await waitFor(() => childLog.includes(`BPR ${v.version} in use`), 'the BPR model to load', 20_000, 100);
    await play('planted-d', tracks().slice(36, 40));
    await waitFor(async () => (await inspect('planted-d')).recommendations?.modelVersion.endsWith(`+bpr:${v.version}`) ?? false, 'a list naming the BPR version', 20_000, 200);
  });

  it('keeps a user\'s state through a SIGKILL and a restart, and shows nothing again that it showed before', async () => {
    const before = await inspect('planted-b');
    const shownBefore = new Set<string>();
    for (const e of before.state?.excluded ?? []) shownBefore.add(e.playlistId);
    expect(before.state?.events).toBe(12);
    await stopSystem('SIGKILL');
    await startSystem();
    const after = await inspect('planted-b');
    expect(after.state?.events).toBe(12);
    const last = before.recommendations?.recommendationId;
    await play('planted-b', tracks().slice(16, 20));
    let list: RecommendationList | null = null;
    await waitFor(async () => {
      list = (await inspect('planted-b')).recommendations;
      return list !== null && list.recommendationId !== last;
    }, 'a new list for planted-b after the restart', 30_000, 200);
    const items = (list as RecommendationList | null)?.items ?? [];
    expect(items.length).toBeGreaterThan(0);
    expect(items.filter((i) => shownBefore.has(i.playlistId))).toEqual([]);
    expect((await inspect('planted-b')).state?.events).toBe(16);
  });

  it('inspect prints the user as JSON, and says it does not know a stranger with exit code 2', async () => {
    const known = await buddies('inspect', 'user', 'planted-a', '--json', '--group-prefix', groupPrefix);
    expect(known.code).toBe(0);
    const u = JSON.parse(known.stdout) as UserInspection;
    expect(u.taste?.userId).toBe('planted-a');
    expect(u.state?.events).toBe(12);
    const stranger = await buddies('inspect', 'user', 'nobody-at-all', '--group-prefix', groupPrefix);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toMatch(/^buddies: the live system does not know user nobody-at-all/);
  });

  it('forgets a user: no topic, store, pairing or warehouse table holds them afterwards', async () => {
    const r = await buddies('forget', 'user', 'planted-a', '--group-prefix', groupPrefix);
    expect(r.stderr).not.toMatch(/Error:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^forgot planted-a/);
    expect((await buddies('inspect', 'user', 'planted-a', '--group-prefix', groupPrefix)).code).toBe(2);
    // the others' buddy lists are recomputed without them
    for (const u of ['planted-b', 'planted-c']) {
      await waitFor(async () => !((await inspect(u)).pairing?.buddies.some((b) => b.userId === 'planted-a') ?? true), `planted-a gone from ${u}'s buddies`, 20_000, 200);
    }
  });
});
