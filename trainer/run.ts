import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createBpr, loadFactors, resolveBprOptions, type BprBackend, type BprFactors, type BprOptions, type EpochReport } from '../models/bpr/index.js';
import type { ModelRegistry, ModelVersion, PublishMeta } from '../registry/index.js';
import { newestCheckpoint, pruneCheckpoints, segmentDir } from './checkpoints.js';
import { evaluateHeldOut, type EvaluateOptions, type HeldOutMetrics } from './evaluate.js';
import { appendHistory, errno, readJson, TRAINER_FILES, writeAtomic } from './files.js';
import { decideGate, type GateOptions } from './gate.js';
import type { RetrainTrigger } from './requests.js';
import { checkTrainingData, trainingMatrix, type TrainingData } from './training-set.js';
import { describePlan, warmStartPlan, type WarmStartPlan } from './warm-start.js';

/** What a run trains with. */
export interface RunParams {
  /** BPR hyperparameters (resolved: models/bpr's defaults filled in). */
  readonly bpr: BprOptions;
  /** models/bpr's backend choice (`auto`: TF.js on a GPU when tfjs-node-gpu loads, else the CPU kernel). */
  readonly backend: BprBackend;
  /** A checkpoint every this many epochs. */
  readonly checkpointEvery: number;
}

/** What the training phase of a run produced (kept in run.json once the model is saved). */
export interface TrainedInfo {
  /** The backend models/bpr picked. */
  readonly backend: string;
  /** Seconds of the last training segment (after a resume: of the resumed part). */
  readonly seconds: number;
  /** SGD samples drawn and used in the last segment. */
  readonly samples: number;
  /** Epochs trained in the last segment, and the epoch it resumed from (0: not resumed). */
  readonly epochsTrained: number;
  readonly resumedFromEpoch: number;
  readonly lastEpoch: EpochReport | null;
}

/** run.json of a run in progress. */
export interface RunRecord {
  readonly format: 'buddies-trainer-run';
  readonly formatVersion: 1;
  readonly id: string;
  readonly trigger: RetrainTrigger;
  readonly reasons: readonly string[];
  /** ISO 8601. */
  readonly createdAt: string;
  /** `training` until the candidate is saved under model/, then `trained` (evaluation and publication are redone after a crash: both are idempotent). */
  readonly phase: 'training' | 'trained';
  readonly params: RunParams;
  /** The production BPR version when the run was created: the warm start's source, also after a resume. */
  readonly warmFrom: string | null;
  readonly dataHash: string;
  readonly warmStart?: WarmStartPlan;
  readonly trained?: TrainedInfo;
}

/** How a run ended. */
export type RunStatus = 'announced' | 'published' | 'refused' | 'skipped' | 'failed';
export const RUN_STATUSES: readonly RunStatus[] = ['announced', 'published', 'refused', 'skipped', 'failed'];

/** One line of history.jsonl. */
export interface RunOutcome {
  readonly id: string | null;
  readonly trigger: RetrainTrigger;
  readonly reasons: readonly string[];
  readonly status: RunStatus;
  /** The gate's line, the reason a run was skipped, or the error of a failed one. */
  readonly reason: string;
  /** The published version (announced or candidate), else null. */
  readonly version: string | null;
  /** The production version it was compared with (the registry's parent), else null. */
  readonly parent: string | null;
  readonly backend: string | null;
  readonly finishedAt: string;
  readonly trained?: TrainedInfo;
  readonly candidate?: HeldOutMetrics;
  readonly production?: HeldOutMetrics;
  readonly dataHash?: string;
  readonly trainingSet?: { readonly users: number; readonly playlists: number; readonly interactions: number };
}

/** Hooks for metrics and progress (each optional). */
export interface RunObserver {
  /** The backend models/bpr picked, once known. */
  backend?(name: string): void;
  /** After each epoch: `epoch` counts from the run's start (resumed runs continue the count). */
  epoch?(report: EpochReport, epoch: number, total: number): void;
  /** A run resumed from a checkpoint written after `epoch` epochs. */
  resumed?(epoch: number): void;
}

export interface RunEnv {
  /** The trainer's state folder. */
  readonly dir: string;
  readonly registry: ModelRegistry;
  /** Announces a published BPR version (to production): the registry's announce on the trainer's producer. */
  announce(version: string): Promise<void>;
  /** Called after a candidate is published (the lifecycle puts it in canary); a failure is logged, not fatal. */
  onCandidate?(version: ModelVersion): void | Promise<void>;
  readonly gate: GateOptions;
  readonly evaluation?: EvaluateOptions;
  log(line: string): void;
  readonly observer?: RunObserver;
}

const RUN_FILE = 'run.json';
const SNAPSHOT_FILE = 'snapshot.json';
const MODEL_DIR = 'model';

export const runDirOf = (dir: string, id: string): string => join(dir, TRAINER_FILES.runs, id);

/** The seed of a training segment that starts at epoch `from` (the first: the configured seed). Deterministic, so a resume repeats. */
export function segmentSeed(seed: number, from: number): number {
  return from === 0 ? seed : (seed + Math.imul(from, 0x9e3779b1)) | 0;
}

function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a run: freezes its data (snapshot.json) and then writes run.json, both atomically, so a run folder
 * with a run.json always has its data. From here on the run survives a crash: {@link unfinishedRuns} finds it
 * and {@link executeRun} resumes it.
 */
export async function createRun(env: RunEnv, data: TrainingData, opts: { readonly trigger: RetrainTrigger; readonly reasons: readonly string[]; readonly params: RunParams; readonly now?: Date }): Promise<RunRecord> {
  const now = opts.now ?? new Date();
  const id = newRunId(now);
  const dir = runDirOf(env.dir, id);
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, SNAPSHOT_FILE), JSON.stringify(data));
  const production = await env.registry.production('BPR');
  const record: RunRecord = {
    format: 'buddies-trainer-run', formatVersion: 1, id, trigger: opts.trigger, reasons: opts.reasons, createdAt: now.toISOString(), phase: 'training',
    params: { ...opts.params, bpr: resolveBprOptions(opts.params.bpr) }, warmFrom: production?.version ?? null, dataHash: data.hash,
  };
  await writeAtomic(join(dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** Runs left unfinished by a crash, oldest first. A run folder without run.json (a crash while creating it) is deleted. */
export async function unfinishedRuns(dir: string): Promise<RunRecord[]> {
  const names = await readdir(join(dir, TRAINER_FILES.runs)).catch((err: unknown) => {
    if (errno(err) === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: RunRecord[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const r = await readJson<RunRecord>(join(dir, TRAINER_FILES.runs, name, RUN_FILE)).catch(() => undefined);
    if (r?.format === 'buddies-trainer-run') out.push(r);
    else await rm(join(dir, TRAINER_FILES.runs, name), { recursive: true, force: true });
  }
  return out;
}

async function factorsOf(registry: ModelRegistry, version: string | null, log: (line: string) => void): Promise<BprFactors | undefined> {
  if (version === null) return undefined;
  const v = await registry.get('BPR', version);
  if (!v) {
    log(`bpr ${version} is no longer in the model registry: cold start`);
    return undefined;
  }
  return (await loadFactors(v.dir)).factors;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The registry's numbers of a published candidate (numbers only; the announcement carries them). */
function metricsOf(data: TrainingData, t: TrainedInfo, c: HeldOutMetrics, p: HeldOutMetrics | undefined, total: number): Record<string, number> {
  const k = c.k;
  const m: Record<string, number> = {
    [`heldOutNdcg${k}`]: c.ndcg, [`heldOutRecall${k}`]: c.recall, heldOutAuc: c.auc, heldOutUsers: c.users,
    users: data.users.length, playlists: data.items.length, interactions: data.weights.length,
    epochs: total, resumedFromEpoch: t.resumedFromEpoch, trainSeconds: t.seconds, samples: t.samples,
  };
  if (t.lastEpoch) {
    m.trainAuc = t.lastEpoch.auc;
    m.trainLoss = t.lastEpoch.loss;
    m.samplesPerSecond = t.lastEpoch.samplesPerSecond;
  }
  if (p) {
    m[`productionHeldOutNdcg${k}`] = p.ndcg;
    m.productionHeldOutAuc = p.auc;
  }
  return m;
}

/** Trains the run's candidate (resuming from its newest complete checkpoint) and saves it under model/. */
async function train(env: RunEnv, rec: RunRecord, data: TrainingData): Promise<RunRecord> {
  const dir = runDirOf(env.dir, rec.id);
  const total = rec.params.bpr.epochs;
  const matrix = trainingMatrix(data);
  const ck = await newestCheckpoint(dir);
  let warm: BprFactors | undefined;
  let from = 0;
  let plan = rec.warmStart;
  if (ck) {
    from = Math.min(ck.epoch, total);
    warm = ck.factors;
    env.log(`run ${rec.id}: resuming from the checkpoint after epoch ${from}/${total} (${ck.dir})`);
    env.observer?.resumed?.(from);
  } else {
    const production = await factorsOf(env.registry, rec.warmFrom, env.log);
    plan = warmStartPlan(production, data.users, data.items, rec.params.bpr);
    if (plan.warm) warm = production;
    env.log(`run ${rec.id}: ${describePlan(plan, `bpr ${rec.warmFrom}`)}`);
    rec = { ...rec, warmStart: plan };
    await writeAtomic(join(dir, RUN_FILE), `${JSON.stringify(rec, null, 2)}\n`);
  }
  const remaining = total - from;
  const model = await createBpr({ ...rec.params.bpr, epochs: Math.max(1, remaining), seed: segmentSeed(rec.params.bpr.seed, from), backend: rec.params.backend, log: (l) => env.log(`run ${rec.id}: ${l}`) });
  const every = Math.max(1, Math.floor(total / 20));
  let last: EpochReport | null = null;
  let samples = 0;
  let seconds = 0;
  try {
    if (remaining > 0) {
      env.log(`run ${rec.id}: training ${matrix.users.ids.length} users × ${matrix.items.ids.length} playlists, ${matrix.nnz} positives, epochs ${from + 1}..${total}`);
      const report = await model.fit(matrix, {
        ...(warm ? { warmStart: warm } : {}),
        checkpoint: { dir: segmentDir(dir, from), every: rec.params.checkpointEvery },
        onEpoch: (r) => {
          if (r.epoch === 1) env.observer?.backend?.(model.backend);
          // the checkpoint of the epoch before is on disk, complete (the next is written after this call): keep the newest two
          if (r.epoch > 1 && (r.epoch - 1) % rec.params.checkpointEvery === 0) pruneCheckpoints(dir, 2);
          samples += r.samples - r.skipped;
          last = r;
          const e = from + r.epoch;
          env.observer?.epoch?.(r, e, total);
          if (e % every === 0 || e === total || r.epoch === 1) {
            env.log(`run ${rec.id}: epoch ${e}/${total}  ${Math.round(r.samplesPerSecond)} samples/s  loss ${r.loss.toFixed(4)}  train AUC≈${r.auc.toFixed(4)}`);
          }
        },
      });
      seconds = report.seconds;
    } else {
      // the crash came after the last checkpoint and before the model was saved: the checkpoint is the model
      await model.load(ck!.dir);
    }
    env.observer?.backend?.(model.backend);
    const out = join(dir, MODEL_DIR);
    await rm(out, { recursive: true, force: true });
    await model.save(out, { trainerRun: rec.id, epochs: total, dataHash: data.hash, dataSource: data.source });
    const trained: TrainedInfo = { backend: model.backend, seconds, samples, epochsTrained: remaining, resumedFromEpoch: from, lastEpoch: last };
    const next: RunRecord = { ...rec, phase: 'trained', trained };
    await writeAtomic(join(dir, RUN_FILE), `${JSON.stringify(next, null, 2)}\n`);
    await rm(join(dir, 'checkpoints'), { recursive: true, force: true });
    return next;
  } finally {
    model.dispose();
  }
}

/**
 * Carries a run through: trains (or resumes training), evaluates the candidate and the production model on the
 * held-out window, applies the gate, publishes (and announces, or calls onCandidate), appends the outcome to
 * history.jsonl and deletes the run folder. Safe to call again on a run a crash interrupted at any point:
 * publication is idempotent (content versions), the hook and announcement may run again.
 */
export async function executeRun(env: RunEnv, id: string): Promise<RunOutcome> {
  const dir = runDirOf(env.dir, id);
  let rec = await readJson<RunRecord>(join(dir, RUN_FILE));
  if (!rec) throw new Error(`run ${id}: ${join(dir, RUN_FILE)} is missing`);
  const data = await readJson<TrainingData>(join(dir, SNAPSHOT_FILE));
  if (!data) throw new Error(`run ${id}: ${join(dir, SNAPSHOT_FILE)} is missing`);
  checkTrainingData(data);
  if (data.hash !== rec.dataHash) throw new Error(`run ${id}: its snapshot (${data.hash}) is not the data it started on (${rec.dataHash})`);
  if (rec.phase === 'training') rec = await train(env, rec, data);
  const t = rec.trained!;
  const total = rec.params.bpr.epochs;
  const candidate = (await loadFactors(join(dir, MODEL_DIR))).factors;
  const production = await env.registry.production('BPR');
  const productionFactors = production ? (await loadFactors(production.dir)).factors : undefined;
  const c = evaluateHeldOut(candidate, data, env.evaluation);
  const p = production ? evaluateHeldOut(productionFactors, data, env.evaluation) : undefined;
  const decision = decideGate(c, p, env.gate);
  const base = {
    id, trigger: rec.trigger, reasons: rec.reasons, parent: production?.version ?? null, backend: t.backend, trained: t, candidate: c,
    ...(p ? { production: p } : {}), dataHash: data.hash, trainingSet: { users: data.users.length, playlists: data.items.length, interactions: data.weights.length },
  };
  let outcome: RunOutcome;
  if (decision.action === 'refuse') {
    env.log(`run ${id}: refused: ${decision.reason}`);
    outcome = { ...base, status: 'refused', reason: decision.reason, version: null, finishedAt: new Date().toISOString() };
  } else {
    const meta: PublishMeta = {
      params: {
        ...rec.params.bpr,
        trainer: {
          run: id, trigger: rec.trigger, reasons: rec.reasons, backendChoice: rec.params.backend, checkpointEvery: rec.params.checkpointEvery, warmFrom: rec.warmFrom,
          warmStart: rec.warmStart ?? null, heldOut: { from: iso(data.heldOutStart), to: iso(data.heldOutEnd), windows: data.heldOutWindows }, gate: env.gate,
        },
      },
      dataWindow: { source: data.source, from: iso(data.trainFrom), to: iso(data.trainTo), records: data.trainWindows, hash: data.hash },
      metrics: metricsOf(data, t, c, p, total),
      parent: production?.version ?? null,
      backend: t.backend,
    };
    const v = await env.registry.publish('BPR', join(dir, MODEL_DIR), meta);
    if (decision.action === 'announce') {
      await env.announce(v.version);
      env.log(`run ${id}: announced bpr ${v.version} to production: ${decision.reason}`);
      outcome = { ...base, status: 'announced', reason: decision.reason, version: v.version, finishedAt: new Date().toISOString() };
    } else {
      env.log(`run ${id}: published bpr ${v.version} as ${v.status}: ${decision.reason}`);
      if (v.status === 'candidate' && env.onCandidate) {
        await Promise.resolve(env.onCandidate(v)).catch((err: unknown) => env.log(`run ${id}: onCandidate(${v.version}) failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      outcome = { ...base, status: 'published', reason: decision.reason, version: v.version, finishedAt: new Date().toISOString() };
    }
  }
  await appendHistory(env.dir, outcome);
  await rm(dir, { recursive: true, force: true });
  return outcome;
}

/** Records a run that failed (history.jsonl) and removes its folder, so it is not resumed forever. */
export async function failRun(env: RunEnv, rec: Pick<RunRecord, 'id' | 'trigger' | 'reasons'>, err: unknown): Promise<RunOutcome> {
  const outcome: RunOutcome = {
    id: rec.id, trigger: rec.trigger, reasons: rec.reasons, status: 'failed', reason: err instanceof Error ? err.message : String(err), version: null, parent: null, backend: null,
    finishedAt: new Date().toISOString(),
  };
  await appendHistory(env.dir, outcome);
  await rm(runDirOf(env.dir, rec.id), { recursive: true, force: true });
  return outcome;
}
