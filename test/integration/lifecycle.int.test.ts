import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../data/generate.js';
import { importDataset } from '../../ingest/index.js';
import {
  createCanaryController, createClickHouseCounts, createClickHouseRecorder, createDegradationMonitor, DEFAULT_CANARY_RULE, DEFAULT_MONITOR_OPTIONS,
} from '../../lifecycle/index.js';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../../models/bpr/index.js';
import { createIdMap } from '../../models/interactions.js';
import { readPlaylistTable, trainAndAnnounceEmbeddings } from '../../processors/index.js';
import { canaryBucket } from '../../processors/live-world.js';
import { createAnnouncementLog, createModelRegistry, publishSavedModel, startCanary, type ModelRegistry } from '../../registry/index.js';
import { createTypedProducer, partitionOf, readTopicSnapshot, TOPICS, type ListenEvent, type RecommendationList, type TypedProducer } from '../../streams/index.js';
import { createWarehouseClient, explanationOf, type WarehouseOptions } from '../../warehouse/index.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';
import { waitFor } from '../helpers/kafka.js';

// Issue 10: canary, promote and rollback on the real stack, with time compressed to seconds.
const dir = mkdtempSync(join(tmpdir(), 'buddies-lifecycle-'));
const modelsDir = join(dir, 'models');
let bed: TestBed;
let database: string;
let whOpts: WarehouseOptions;
let ch: ClickHouseClient;
let producer: TypedProducer;
let registry: ModelRegistry;
let systemLog = '';
const children: ChildProcess[] = [];
const groupPrefix = `lifecycle-${randomUUID().slice(0, 8)}`;
const USERS = Array.from({ length: 40 }, (_, i) => `lc-${i}`);
/** BPR versions: production, a bad candidate (random factors), a good one, and one for failed checks. */
const bpr: { prod: string; bad: string; other: string; unchecked: string } = { prod: '', bad: '', other: '', unchecked: '' };
let tracks: string[] = [];

const env = (extra: Record<string, string> = {}) => ({
  ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, CLICKHOUSE_DATABASE: database, BUDDIES_MODELS_DIR: modelsDir, BUDDIES_STACK_DIR: bed.cfg.stackDir,
  BUDDIES_METRICS_PORT: '0', ...extra,
});

function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], { env: env(), timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A long-running `buddies` command; resolves once `ready` shows in its stderr. */
async function spawnBuddies(args: string[], ready: RegExp, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; log: () => string }> {
  let log = '';
  const c = spawn('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], { env: env(extraEnv), stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  c.stderr?.on('data', (b: Buffer) => { log += b.toString(); });
  await waitFor(() => ready.test(log) || c.exitCode !== null, `buddies ${args[0]} to run`, 180_000, 200);
  if (c.exitCode !== null) throw new Error(`buddies ${args.join(' ')} exited ${c.exitCode}:\n${log}`);
  return { child: c, log: () => log };
}

async function stop(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  await exited;
}

/** A random BPR model over the test's users and every playlist (seeded: the same seed, the same version). */
async function publishRandomBpr(name: string, seed: number, items: readonly string[]): Promise<string> {
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5);
  const stride = 9;
  const out = join(dir, name);
  await saveFactors({
    factors: 8, itemBias: true, stride, users: createIdMap(USERS), items: createIdMap(items),
    userFactors: Float32Array.from({ length: USERS.length * stride }, (_, i) => (i % stride === 8 ? 1 : rnd())),
    itemFactors: Float32Array.from({ length: items.length * stride }, () => rnd()),
  }, out, { ...DEFAULT_BPR_OPTIONS, factors: 8 }, 'test-random', { metrics: { seed } });
  return (await publishSavedModel(registry, 'BPR', out)).version;
}

/** The user's lists on the recommendations topic (the partition of their key), oldest first. */
async function listsOf(userId: string): Promise<RecommendationList[]> {
  const p = partitionOf(userId, TOPICS.recommendations.partitions);
  const out: RecommendationList[] = [];
  for (const m of await readTopicSnapshot(bed.kafka, bed.topics.name('recommendations'), { partitions: [p] })) {
    if (m.key?.toString() === userId && m.value) out.push(await bed.serde.decode('recommendations', m.value));
  }
  return out;
}

let played = 0;
/** One play of a track: with --refresh-every 1, each play gives the user a new list. */
async function play(user: string): Promise<void> {
  const trackId = tracks[played++ % tracks.length]!;
  await producer.send('listens', [{ key: user, value: {
    eventId: randomUUID(), userId: user, trackId, playlistId: null, source: 'LIBRARY', msPlayed: 180_000, trackDurationMs: 200_000, eventTime: Date.now(), recommendationId: null,
  } satisfies ListenEvent }]);
}

let probes = 0;
/** A user never seen before, in the canary's share (`inCanary`) or out of it: their lists exclude nothing yet. */
function freshUser(inCanary?: { readonly share: number; readonly inside: boolean }): string {
  for (;;) {
    const u = `probe-${probes++}`;
    if (!inCanary || (canaryBucket(u) < inCanary.share) === inCanary.inside) return u;
  }
}

/** Plays for `user` until their newest list was generated after `since` by BPR `version`; returns how long it took (ms). */
async function servedBy(user: string, version: string, since: number, what: string, timeoutMs = 15_000): Promise<number> {
  try {
    await waitFor(async () => {
      await play(user);
      const last = (await listsOf(user)).filter((l) => l.generatedAt >= since).at(-1);
      return last?.modelVersion.endsWith(`+bpr:${version}`) ?? false;
    }, what, timeoutMs, 500);
  } catch (err) {
    const seen = (await listsOf(user)).slice(-5).map((l) => `${l.generatedAt - since} ms ${l.modelVersion} (${l.items.length} items)`);
    throw new Error(`${(err as Error).message}; ${user}'s last lists: ${seen.join(', ') || 'none'}; the system's log ends:\n${systemLog.slice(-1500)}`);
  }
  return Date.now() - since;
}

beforeAll(async () => {
  bed = await createTestBed(['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'interactionWindows', 'modelAnnouncements', 'deadLetters']);
  const wh = await createTestWarehouse();
  database = wh.opts.database;
  whOpts = wh.opts;
  ch = wh.client;
  const world = join(dir, 'world');
  await generateWorld({ users: 80, playlists: 400, seed: 11, out: world, communities: 3 });
  tracks = readFileSync(join(world, 'truth/tracks.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t')[0]!).slice(0, 200);
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  await importDataset({ kind: 'mpd', path: world, producer, stateFile: join(dir, 'state.json') });
  registry = createModelRegistry(modelsDir);
  await trainAndAnnounceEmbeddings({ kafka: bed.kafka, serde: bed.serde, registry });
  const items = [...(await readPlaylistTable(bed.kafka, bed.serde)).keys()];
  bpr.prod = await publishRandomBpr('prod', 1, items);
  bpr.bad = await publishRandomBpr('bad', 2, items);
  bpr.other = await publishRandomBpr('other', 3, items);
  bpr.unchecked = await publishRandomBpr('unchecked', 4, items);
  const promoted = await buddies('models', 'promote', bpr.prod);
  expect(promoted.stderr).not.toMatch(/Error/);
  expect(promoted.stdout).toBe(`bpr ${bpr.prod} production ${registry.artifactUri('BPR', bpr.prod)}\n`);
  const s = await spawnBuddies(['start', '--only', 'warehouse,recommender', '--group-prefix', groupPrefix, '--refresh-every', '1'], /warehouse, recommender running/);
  systemLog = '';
  s.child.stderr?.on('data', (b: Buffer) => { systemLog += b.toString(); });
  await waitFor(() => s.log().includes(`BPR ${bpr.prod} in use`), 'the production BPR to load', 30_000, 100);
}, 400_000);

afterAll(async () => {
  for (const c of children) await stop(c);
  await producer?.disconnect();
  await dropTestWarehouses();
  rmSync(dir, { recursive: true, force: true });
});

describe('the model lifecycle on the real stack', () => {
  it('promote and rollback change what the running live recommender serves within seconds', async () => {
    await servedBy(freshUser(), bpr.prod, 0, 'a list from production');
    let t = Date.now();
    const p = await buddies('models', 'promote', bpr.other);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`^bpr ${bpr.other} production `));
    const promoteMs = await servedBy(freshUser(), bpr.other, t, 'a list from the promoted version', 10_000);
    t = Date.now();
    const r = await buddies('models', 'rollback');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([`bpr ${bpr.other} retired`, `bpr ${bpr.prod} production`]);
    const rollbackMs = await servedBy(freshUser(), bpr.prod, t, 'a list from the version rolled back to', 10_000);
    process.stderr.write(`[lifecycle test] promote served after ${promoteMs} ms, rollback after ${rollbackMs} ms (commands included)\n`);

    const listed = (await buddies('models', 'list', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { modelName: string; version: string; status: string });
    const status = Object.fromEntries(listed.filter((m) => m.modelName === 'bpr').map((m) => [m.version, m.status]));
    expect(status).toEqual({ [bpr.prod]: 'production', [bpr.other]: 'retired', [bpr.bad]: 'candidate', [bpr.unchecked]: 'candidate' });
    expect(listed.find((m) => m.modelName === 'track-embeddings')?.status).toBe('production');
  });

  it('rolls back a bad candidate (random factors) in canary automatically, writing the decision with its numbers', async () => {
    const started = Date.now();
    const c = await buddies('models', 'canary', bpr.bad, '--share', '0.5');
    expect(c.stderr).not.toMatch(/Error/);
    expect(c.stdout).toMatch(new RegExp(`^bpr ${bpr.bad} canary `));
    expect((await buddies('models', 'list', '--json', '--kind', 'bpr')).stdout).toContain(`"version":"${bpr.bad}"`);
    const inCanary = USERS.filter((u) => canaryBucket(u) < 0.5);
    expect(inCanary.length).toBeGreaterThan(5);
    expect(inCanary.length).toBeLessThan(USERS.length - 5);
    // each user is served by the arm of their hash, and their lists say which
    await servedBy(freshUser({ share: 0.5, inside: true }), bpr.bad, started, 'a list from the canary', 15_000);
    for (const u of USERS) await play(u);
    for (const u of USERS) await play(u);
    const lists = new Map<string, RecommendationList>();
    await waitFor(async () => {
      for (const u of USERS) for (const l of (await listsOf(u)).filter((x) => x.generatedAt >= started)) lists.set(l.recommendationId, l);
      return USERS.every((u) => [...lists.values()].filter((l) => l.userId === u).length >= 2);
    }, 'two lists per user since the canary started', 30_000, 300);
    for (const l of lists.values()) expect(l.modelVersion.endsWith(`+bpr:${canaryBucket(l.userId) < 0.5 ? bpr.bad : bpr.prod}`), `${l.userId} ${l.modelVersion}`).toBe(true);
    // the warehouse sink wrote the lists
    const ids = [...lists.keys()];
    await waitFor(async () => {
      const rows = await (await ch.query({ query: `SELECT count(DISTINCT recommendation_id) AS n FROM recommendations WHERE recommendation_id IN (${ids.map((i) => `'${i}'`).join(',')})`, format: 'JSONEachRow' })).json<{ n: string }>();
      return Number(rows[0]?.n) === ids.length;
    }, 'the lists in ClickHouse', 30_000, 300);

    // simulated-looking reactions: every item shown; production's lists clicked three times as often, and followed
    const feedback: Array<Record<string, unknown>> = [];
    const at = Math.floor(Date.now() / 1000);
    for (const l of lists.values()) {
      const canary = l.modelVersion.endsWith(`+bpr:${bpr.bad}`);
      for (const item of l.items) {
        const row = (kind: string) => ({
          event_id: randomUUID(), user_id: l.userId, kind, track_id: '', playlist_id: item.playlistId, recommendation_id: l.recommendationId, position: item.rank, event_time: at,
          // attributed to the list, as the warehouse sink writes a reaction (migration 9)
          model_version: l.modelVersion, explanation: explanationOf(item.explanation.reason),
        });
        feedback.push(row('IMPRESSION'));
        if (item.rank % (canary ? 10 : 3) === 1) feedback.push(row('CLICK'));
        if (!canary && item.rank % 5 === 1) feedback.push(row('FOLLOW_PLAYLIST'));
      }
    }
    await ch.insert({ table: 'feedback_events', values: feedback, format: 'JSONEachRow' });

    const lc = await spawnBuddies(['lifecycle', '--only', 'canary'], /canary running/, {
      BUDDIES_CANARY_INTERVAL_MS: '1000', BUDDIES_CANARY_MIN_IMPRESSIONS: '100', BUDDIES_CANARY_DEADLINE_MS: '600000',
    });
    await waitFor(async () => (await registry.get('BPR', bpr.bad))?.status === 'retired', 'the canary to be rolled back', 30_000, 200);
    expect(lc.log()).toMatch(new RegExp(`canary: bpr ${bpr.bad} rolled back: canary significantly worse at alpha 0.05: ctr `));
    expect((await registry.get('BPR', bpr.prod))?.status).toBe('production');
    // the decision, with its numbers, in ClickHouse and in the metrics
    let decision: Record<string, string | number> | undefined;
    await waitFor(async () => {
      decision = (await (await ch.query({ query: 'SELECT * FROM model_decisions FINAL', format: 'JSONEachRow' })).json<Record<string, string | number>>())[0];
      return decision !== undefined;
    }, 'the decision row', 15_000, 200);
    expect(decision).toMatchObject({ model_name: 'bpr', decision: 'rollback', share: 0.5 });
    expect(String(decision!.canary_version)).toMatch(new RegExp(`^buddies@emb:[0-9a-f]+\\+bpr:${bpr.bad}$`));
    expect(String(decision!.production_version)).toMatch(new RegExp(`\\+bpr:${bpr.prod}$`));
    expect(Number(decision!.canary_impressions)).toBeGreaterThanOrEqual(100);
    expect(Number(decision!.production_impressions)).toBeGreaterThanOrEqual(100);
    expect(Number(decision!.canary_clicks) / Number(decision!.canary_impressions)).toBeLessThan(Number(decision!.production_clicks) / Number(decision!.production_impressions));
    expect(Number(decision!.ctr_p)).toBeLessThan(0.05);
    expect(Number(decision!.ctr_z)).toBeLessThan(-2);
    expect(JSON.parse(String(decision!.numbers))).toMatchObject({ rule: { minImpressions: 100, alpha: 0.05 }, canaryBpr: bpr.bad, productionBpr: bpr.prod });
    // the analysts' canary report joins the decision to the rates of both arms
    const report = await buddies('report', 'canary', '--since', 'all', '--format', 'json');
    expect(report.stderr).toBe('');
    const arms = (JSON.parse(report.stdout) as Array<Record<string, string | number>>).filter((r) => r.decision_id === decision!.decision_id);
    expect(arms.map((r) => [r.role, r.model_version])).toEqual([['canary', decision!.canary_version], ['production', decision!.production_version]]);
    expect(Number(arms[0]!.impressions)).toBe(Number(decision!.canary_impressions));
    expect(Number(arms[0]!.ctr)).toBeLessThan(Number(arms[1]!.ctr));
    const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(lc.log())?.[1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/buddies_canary_decisions_total\{decision="rollback"\} 1/);
    // the canary's users are served by production again, within seconds
    const ended = Date.now();
    await servedBy(freshUser({ share: 0.5, inside: true }), bpr.prod, ended, 'production for a canary user after the rollback', 10_000);
    await stop(lc.child);
  });

  it('rolls a canary back after failed checks in a row when ClickHouse cannot be read', async () => {
    const deps = { registry, announcements: createAnnouncementLog({ kafka: bed.kafka, serde: bed.serde }) };
    await startCanary(deps, 'BPR', bpr.unchecked, 0.2);
    const unreachable = createWarehouseClient({ ...whOpts, url: 'http://127.0.0.1:1' });
    const controller = createCanaryController({
      deps, counts: createClickHouseCounts(unreachable), recorder: createClickHouseRecorder(ch), rule: { ...DEFAULT_CANARY_RULE, maxFailedChecks: 2, intervalMs: 200 },
    });
    expect(await controller.check()).toMatchObject({ outcome: 'fail', failedInARow: 1 });
    const second = await controller.check();
    expect(second).toMatchObject({ decision: 'rollback' });
    expect(second.reason).toMatch(/^2 failed checks in a row \(the last: cannot read the online counts: /);
    expect((await registry.get('BPR', bpr.unchecked))?.status).toBe('retired');
    expect((await deps.announcements.latest()).has('bpr@canary')).toBe(false);
    const rows = await (await ch.query({ query: `SELECT decision, failed_checks, canary_impressions FROM model_decisions FINAL WHERE canary_version = 'bpr:${bpr.unchecked}'`, format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ decision: 'rollback', failed_checks: 2, canary_impressions: '0' }]);
    await unreachable.close();
    await waitFor(() => systemLog.includes(`BPR canary ${bpr.unchecked} ended`), 'the live recommender to end the canary', 10_000, 100);
  });

  it('the degradation monitor reads the online rates from ClickHouse, triggers retraining and records why', async () => {
    // one list model version: a good baseline 40 s ago, then a recent window with lower click-through and listen-through
    const version = `buddies@emb:monitor+bpr:${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const lists: Array<Record<string, unknown>> = [];
    const feedback: Array<Record<string, unknown>> = [];
    const listens: Array<Record<string, unknown>> = [];
    for (const [t, ctrEvery, playedEvery] of [[Math.floor(now / 1000) - 40, 3, 5], [Math.floor(now / 1000) - 2, 10, 2]] as const) {
      for (let l = 0; l < 12; l++) {
        const rid = randomUUID();
        for (let rank = 1; rank <= 10; rank++) {
          const pl = `m-${l}-${rank}`;
          lists.push({ recommendation_id: rid, user_id: `m-${l}`, rank, playlist_id: pl, score: 1, buddy_id: '', taste_match: 0, reason: 'popular right now', model_version: version, cold_start: 0, generated_at: t });
          const base = { user_id: `m-${l}`, playlist_id: pl, recommendation_id: rid, event_time: t, model_version: version, explanation: 'popular' };
          feedback.push({ ...base, event_id: randomUUID(), kind: 'IMPRESSION', track_id: '', position: rank });
          if (rank % ctrEvery === 0) feedback.push({ ...base, event_id: randomUUID(), kind: 'CLICK', track_id: '', position: rank });
          listens.push({ ...base, event_id: randomUUID(), track_id: 't', source: 'ORGANIC_PLAYLIST', ms_played: rank % playedEvery === 0 ? 5_000 : 60_000, track_duration_ms: 200_000 });
        }
      }
    }
    await ch.insert({ table: 'recommendations', values: lists, format: 'JSONEachRow' });
    await ch.insert({ table: 'feedback_events', values: feedback, format: 'JSONEachRow' });
    await ch.insert({ table: 'listen_events', values: listens, format: 'JSONEachRow' });
    const reasons: string[] = [];
    const monitor = createDegradationMonitor({
      counts: createClickHouseCounts(ch), recorder: createClickHouseRecorder(ch), onTrigger: (r) => void reasons.push(r),
      options: { ...DEFAULT_MONITOR_OPTIONS, recentMs: 10_000, baselineMs: 60_000, minSamples: 100, threshold: 0.2 }, now: () => now,
    });
    const r = await monitor.check();
    const mine = r.compared.filter((d) => d.modelVersion === version);
    // baseline: ctr 3/10, listen-through 8/10 (every fifth a skip); recent: ctr 1/10, listen-through 5/10
    expect(mine.map((d) => [d.metric, d.recent.rate, d.baseline.rate, d.recent.samples, d.baseline.samples])).toEqual([
      ['ctr', 0.1, 0.3, 120, 120], ['listen_through', 0.5, 0.8, 120, 120],
    ]);
    expect(r.outcome).toBe('triggered');
    expect(r.degraded.filter((d) => d.modelVersion === version).map((d) => d.metric)).toEqual(['ctr', 'listen_through']);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(`ctr of ${version} 0.1 against 0.3 (-66.7%, 120/120 samples)`);
    const rows = await (await ch.query({ query: `SELECT metric, recent, baseline, drop_share, threshold, recent_samples FROM model_triggers FINAL WHERE model_version = '${version}' ORDER BY metric`, format: 'JSONEachRow' })).json();
    expect(rows).toEqual([
      { metric: 'ctr', recent: 0.1, baseline: 0.3, drop_share: expect.closeTo(2 / 3, 10), threshold: 0.2, recent_samples: '120' },
      { metric: 'listen_through', recent: 0.5, baseline: 0.8, drop_share: expect.closeTo(0.375, 10), threshold: 0.2, recent_samples: '120' },
    ]);
  });
});
