import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../models/random.js';
import { createModelRegistry, latestAnnouncements } from '../../registry/index.js';
import { createTypedProducer, type InteractionWindow, type TypedProducer } from '../../streams/index.js';
import { readHistory, type RunOutcome, type RunRecord } from '../../trainer/index.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { waitFor } from '../helpers/kafka.js';

// Issue 10, part 1: `buddies trainer` on the real Kafka and registry, with compressed time (one-hour windows
// produced at once, runs of a few seconds), a temporary model registry and trainer folder.

const H = 3_600_000;
const work = mkdtempSync(join(tmpdir(), 'buddies-trainer-int-'));
const modelsDir = join(work, 'models');
const trainerDir = join(work, 'trainer');
const groupPrefix = `trainer-${randomUUID().slice(0, 8)}`;
let bed: TestBed;
let producer: TypedProducer;
let daemon: ChildProcess | undefined;

const env = () => ({ ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, BUDDIES_MODELS_DIR: modelsDir, BUDDIES_TRAINER_DIR: trainerDir, BUDDIES_METRICS_PORT: '0' });
/** Small and fast: 8 factors, a fixed seed, a margin wide enough that a warm-started candidate is published. */
const FLAGS = ['--group-prefix', groupPrefix, '--factors', '8', '--seed', '7', '--margin', '0.5', '--min-auc', '0.55', '--poll-ms', '100'];
const bin = () => join(bed.cfg.rootDir, 'bin/buddies.js');

function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [bin(), ...args], { env: env(), timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Users in 4 taste communities of 12 playlists each; each window, every user takes to 4 playlists of their community. */
function communityWindows(users: number, windows: number, seed: number, firstWindow: number): InteractionWindow[] {
  const rng = createRng(seed);
  const out: InteractionWindow[] = [];
  for (let k = firstWindow; k < firstWindow + windows; k++) {
    for (let u = 0; u < users; u++) {
      const picks = new Set<number>();
      while (picks.size < 4) picks.add(rng.int(12));
      out.push({ userId: `u${u}`, windowStart: k * H, windowEnd: (k + 1) * H, interactions: [...picks].map((p) => ({ playlistId: `c${u % 4}-p${p}`, weight: 1, events: 1 })) });
    }
  }
  return out;
}

async function produce(windows: readonly InteractionWindow[]): Promise<void> {
  await producer.send('interactionWindows', windows.map((w) => ({ key: w.userId, value: w })));
}

/** The run folders in progress under the trainer folder. */
const runDirs = (): string[] => (existsSync(join(trainerDir, 'runs')) ? readdirSync(join(trainerDir, 'runs')) : []);

beforeAll(async () => {
  bed = await createTestBed(['interactionWindows', 'modelAnnouncements']);
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  // windows 0..2 of 60 users: the first run trains on 0..1 and holds out 2
  await produce(communityWindows(60, 3, 1, 0));
}, 120_000);

afterAll(async () => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  await producer?.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('buddies trainer on the real stack (issue 10)', () => {
  let v1 = '';
  let v2 = '';

  it('reads the windows, trains on the backend models/bpr picks, and announces the first BPR to production', async () => {
    const r = await buddies('trainer', '--once', '--epochs', '40', ...FLAGS);
    expect(r.code, r.stderr).toBe(0);
    const m = /^announced bpr ([0-9a-f]{16}) no BPR in production/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    v1 = m![1]!;
    expect(r.stderr).toMatch(/bpr: backend cpu/);
    expect(r.stderr).toMatch(/training set caught up with .*interaction-windows.v1: 180 windows, 720 interactions, 60 users, 48 playlists/);
    expect(r.stderr).toMatch(/cold start \(no production model\)/);
    const registry = createModelRegistry(modelsDir);
    const prod = (await registry.production('BPR'))!;
    expect(prod).toMatchObject({ version: v1, parent: null, backend: expect.stringMatching(/^cpu-/), dataWindow: { source: `kafka:${bed.topics.name('interactionWindows')}`, records: 120 } });
    expect(prod.metrics.heldOutAuc).toBeGreaterThan(0.55);
    expect((await latestAnnouncements(bed.kafka, bed.serde)).get('bpr')?.modelVersion).toBe(v1);
  });

  it('a second run restores its training set, reads only the new windows, and publishes a warm-started candidate', async () => {
    // windows 3..4: 8 new users join; the run trains on 0..3, holds out 4
    await produce(communityWindows(68, 2, 2, 3));
    const r = await buddies('trainer', '--once', '--epochs', '40', ...FLAGS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/training set restored from .*window-set.json \(180 windows, 720 interactions, 60 users, 48 playlists\)/);
    expect(r.stderr).toMatch(/caught up with .*: 316 windows, 1264 interactions, 68 users, 48 playlists/);
    expect(r.stderr).toMatch(new RegExp(`warm start from bpr ${v1}: 60 users and 48 playlists kept, 8 new users and 0 new playlists initialised`));
    const m = /^published bpr ([0-9a-f]{16}) /.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    v2 = m![1]!;
    // the CLI puts a published candidate in canary for BUDDIES_CANARY_SHARE of the users (buddies lifecycle decides)
    expect(r.stderr).toContain(`candidate ${v2} in canary for 10% of users`);
    const c = (await createModelRegistry(modelsDir).get('BPR', v2))!;
    expect(c).toMatchObject({ status: 'canary', parent: v1 });
    expect((await latestAnnouncements(bed.kafka, bed.serde)).get('bpr@canary')?.modelVersion).toBe(v2);
    expect(c.metrics).toMatchObject({ heldOutAuc: expect.any(Number), productionHeldOutAuc: expect.any(Number), users: 68 });
    expect((await createModelRegistry(modelsDir).production('BPR'))!.version).toBe(v1);
  });

  it('killed with SIGKILL mid-training, it resumes from its newest checkpoint on the same data and finishes', async () => {
    const args = ['trainer', '--once', '--epochs', '6000', '--checkpoint-every', '200', ...FLAGS];
    const child = spawn('node', [bin(), ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => { log += b.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // wait for a complete checkpoint (manifest.json is written last), then kill at once
    let checkpoint = '';
    await waitFor(() => {
      for (const id of runDirs()) {
        const seg = join(trainerDir, 'runs', id, 'checkpoints', 'from-000000');
        const done = existsSync(seg) ? readdirSync(seg).filter((e) => existsSync(join(seg, e, 'manifest.json'))) : [];
        if (done.length > 0) checkpoint = join(seg, done[0]!);
      }
      return checkpoint !== '' || child.exitCode !== null;
    }, 'a checkpoint of the run', 60_000, 10);
    child.kill('SIGKILL');
    await exited;
    expect(checkpoint, log).not.toBe('');
    expect(log).not.toMatch(/published bpr|announced bpr|refused/);
    const [id] = runDirs();
    const run = JSON.parse(readFileSync(join(trainerDir, 'runs', id!, 'run.json'), 'utf8')) as RunRecord;
    expect(run).toMatchObject({ phase: 'training', params: { bpr: { epochs: 6000 } } });

    // new data arrives while it is down: the resumed run must not see it (it trains on its frozen snapshot)
    await produce(communityWindows(68, 1, 3, 5));
    const r = await buddies(...args);
    expect(r.code, r.stderr).toBe(0);
    const resumed = new RegExp(`run ${id}: resuming from the checkpoint after epoch (\\d+)/6000`).exec(r.stderr);
    expect(resumed, r.stderr).not.toBeNull();
    const from = Number(resumed![1]);
    expect(from).toBeGreaterThanOrEqual(200);
    expect(from % 200).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`run ${id}: epoch 6000/6000`));
    const m = /^(published|refused) bpr (\S+) /.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const outcome = (await readHistory<RunOutcome>(trainerDir)).find((o) => o.id === id)!;
    expect(outcome).toMatchObject({ dataHash: run.dataHash, trained: { resumedFromEpoch: from, epochsTrained: 6000 - from } });
    if (m![1] === 'published') {
      const v = (await createModelRegistry(modelsDir).get('BPR', m![2]!))!;
      expect(v.metrics).toMatchObject({ epochs: 6000, resumedFromEpoch: from });
      expect(v.dataWindow).toMatchObject({ hash: run.dataHash, to: new Date(4 * H).toISOString() }); // trained on 0..3, not on window 5
    }
    expect(runDirs()).toEqual([]);
  });

  it('as a service: serves metrics, trains on `buddies trainer retrain`, and stops on SIGTERM', async () => {
    const c = spawn('node', [bin(), 'trainer', '--epochs', '40', '--interval-ms', String(H), ...FLAGS], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    daemon = c;
    let log = '';
    c.stderr!.on('data', (b: Buffer) => { log += b.toString(); });
    await waitFor(() => /training set caught up/.test(log) || c.exitCode !== null, 'the trainer to catch up', 60_000, 50);
    expect(c.exitCode, log).toBeNull();
    const port = /metrics and health on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(log)![1];
    const get = async (path: string) => { const res = await fetch(`http://127.0.0.1:${port}${path}`); return { status: res.status, text: await res.text() }; };
    await waitFor(async () => (await get('/readyz')).status === 200, '/readyz', 30_000, 50);
    expect((await get('/healthz')).status).toBe(200);
    // the last run finished moments ago: nothing is due before the interval, only on request
    expect(log).not.toMatch(/retraining \(schedule\)/);
    const req = await buddies('trainer', 'retrain', '--reason', 'integration test');
    expect(req.code, req.stderr).toBe(0);
    // the run counts once it is over (a published candidate is put in canary first)
    await waitFor(async () => /buddies_trainer_runs_total\{[^}]*trigger="request"\} 1/.test((await get('/metrics')).text), 'the requested run', 60_000, 100);
    expect(log).toContain('retraining (request): integration test');
    const metrics = (await get('/metrics')).text;
    expect(metrics).toMatch(/buddies_trainer_runs_total\{status="(published|refused)",trigger="request"\} 1/);
    expect(metrics).toMatch(/buddies_trainer_backend_info\{backend="cpu-[a-z-]+"\} 1/);
    expect(metrics).toMatch(/buddies_trainer_retrain_requests_total\{trigger="request"\} 1/);
    expect(metrics).toMatch(/buddies_trainer_training_set_windows 384/);
    expect(metrics).toMatch(/buddies_trainer_training_seconds_count 1/);
    expect(metrics).toMatch(/buddies_trainer_held_out\{model="candidate",metric="auc"\} 0\.\d+/);
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
