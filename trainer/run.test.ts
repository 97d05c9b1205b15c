import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBpr, resolveBprOptions } from '../models/bpr/index.js';
import { createRng } from '../models/random.js';
import { createModelRegistry, type ModelRegistry, type ModelVersion } from '../registry/index.js';
import type { InteractionWindow } from '../streams/index.js';
import { segmentDir } from './checkpoints.js';
import { readHistory } from './files.js';
import { resolveGateOptions } from './gate.js';
import { createRun, executeRun, runDirOf, unfinishedRuns, type RunEnv, type RunOutcome, type RunParams } from './run.js';
import { buildTrainingData, trainingMatrix } from './training-set.js';

const H = 3_600_000;

/** Users in 4 taste communities of 12 playlists each; each window a user takes to 4 playlists of their community. */
function communityWindows(users: number, windows: number, seed: number, firstWindow = 0): InteractionWindow[] {
  const rng = createRng(seed);
  const out: InteractionWindow[] = [];
  for (let k = firstWindow; k < firstWindow + windows; k++) {
    for (let u = 0; u < users; u++) {
      const c = u % 4;
      const picks = new Set<number>();
      while (picks.size < 4) picks.add(rng.int(12));
      out.push({ userId: `u${u}`, windowStart: k * H, windowEnd: (k + 1) * H, interactions: [...picks].map((p) => ({ playlistId: `c${c}-p${p}`, weight: 1, events: 1 })) });
    }
  }
  return out;
}

let dir: string;
let registry: ModelRegistry;
let announced: string[];
let candidates: ModelVersion[];
let lines: string[];

const params = (epochs: number): RunParams => ({ bpr: resolveBprOptions({ factors: 8, epochs, seed: 7, learningRate: 0.05 }), backend: 'cpu', checkpointEvery: 2 });

function env(): RunEnv {
  return {
    dir, registry, gate: resolveGateOptions({ margin: 0.5, minAuc: 0.55 }), log: (l) => lines.push(l),
    async announce(version) {
      // what the trainer's announce does after sending the record: the registry marks it production
      await registry.markProduction('BPR', version);
      announced.push(version);
    },
    onCandidate: (v) => void candidates.push(v),
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'buddies-trainer-run-'));
  registry = createModelRegistry(join(dir, 'models'));
  announced = [];
  candidates = [];
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a training run (issue 10)', () => {
  it('announces the first model to production, then publishes a warm-started candidate whose parent is production', async () => {
    const first = buildTrainingData(communityWindows(40, 3, 1), { source: 'kafka:t' });
    const r1 = await createRun(env(), first, { trigger: 'once', reasons: ['test'], params: params(20) });
    const o1 = await executeRun(env(), r1.id);
    expect(o1).toMatchObject({ status: 'announced', parent: null, backend: expect.stringMatching(/^cpu-/) });
    expect(o1.candidate!.auc).toBeGreaterThan(0.55);
    expect(announced).toEqual([o1.version]);
    const v1 = (await registry.production('BPR'))!;
    expect(v1.version).toBe(o1.version);
    expect(v1.dataWindow).toMatchObject({ source: 'kafka:t', from: new Date(0).toISOString(), to: new Date(2 * H).toISOString(), records: 80, hash: first.hash });
    expect(v1.metrics).toMatchObject({ heldOutAuc: o1.candidate!.auc, heldOutNdcg10: o1.candidate!.ndcg, epochs: 20, resumedFromEpoch: 0 });
    expect(existsSync(runDirOf(dir, r1.id))).toBe(false);

    const second = buildTrainingData([...communityWindows(40, 3, 1), ...communityWindows(48, 2, 2, 3)], { source: 'kafka:t' });
    const r2 = await createRun(env(), second, { trigger: 'request', reasons: ['more data'], params: params(20) });
    expect(r2.warmFrom).toBe(v1.version);
    const o2 = await executeRun(env(), r2.id);
    expect(o2).toMatchObject({ status: 'published', parent: v1.version });
    expect(lines.some((l) => /warm start from bpr .*: 40 users and 48 playlists kept, 8 new users/.test(l))).toBe(true);
    expect(candidates.map((v) => v.version)).toEqual([o2.version]);
    const v2 = (await registry.get('BPR', o2.version!))!;
    expect(v2).toMatchObject({ status: 'candidate', parent: v1.version });
    expect(v2.metrics.productionHeldOutAuc).toBe(o2.production!.auc);
    expect((await readHistory<RunOutcome>(dir)).map((o) => o.status)).toEqual(['announced', 'published']);
  });

  it('refuses a candidate the gate does not pass and records why, publishing nothing', async () => {
    const data = buildTrainingData(communityWindows(40, 3, 1), { source: 'kafka:t' });
    const r = await createRun(env(), data, { trigger: 'once', reasons: ['test'], params: params(5) });
    const o = await executeRun({ ...env(), gate: resolveGateOptions({ minAuc: 1 }) }, r.id);
    expect(o).toMatchObject({ status: 'refused', version: null, reason: expect.stringMatching(/below the sanity bar 1\.0000/) });
    expect(await registry.list('BPR')).toEqual([]);
  });

  it('resumes from the newest complete checkpoint on the same data, skipping a torn one', async () => {
    const data = buildTrainingData(communityWindows(40, 3, 1), { source: 'kafka:t' });
    const r = await createRun(env(), data, { trigger: 'once', reasons: ['test'], params: params(20) });
    // what a killed run leaves: checkpoints after epochs 2 and 4, and a torn one after 6 (no manifest)
    const m = await createBpr({ ...r.params.bpr, epochs: 4, backend: 'cpu' });
    await m.fit(trainingMatrix(data), { checkpoint: { dir: segmentDir(runDirOf(dir, r.id), 0), every: 2 } });
    const torn = join(segmentDir(runDirOf(dir, r.id), 0), 'epoch-0006');
    mkdirSync(torn);
    writeFileSync(join(torn, 'user_factors.f32'), 'x');
    expect((await unfinishedRuns(dir)).map((x) => x.id)).toEqual([r.id]);
    const o = await executeRun(env(), r.id);
    expect(o.trained).toMatchObject({ resumedFromEpoch: 4, epochsTrained: 16 });
    expect(lines).toContain(`run ${r.id}: resuming from the checkpoint after epoch 4/20 (${join(segmentDir(runDirOf(dir, r.id), 0), 'epoch-0004')})`);
    expect(o).toMatchObject({ status: 'announced', reason: expect.stringMatching(/passes the sanity bar/) });
    expect((await registry.production('BPR'))!.metrics).toMatchObject({ epochs: 20, resumedFromEpoch: 4 });
    expect(await unfinishedRuns(dir)).toEqual([]);
  });
});
