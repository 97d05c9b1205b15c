/**
 * BPR on the CPU against the GPU, side by side on the same seeded data: training throughput (samples/s, same
 * epochs, same hyperparameters) and scoring (full top-10 for every user over every item). Run by bench/gpu.sh, which
 * prepares the GPU backend from registry packages first (docs/gpu.md).
 *
 * Usage: npx tsx bench/gpu-bpr.ts --arms cpu,gpu [--users 100000] [--items 50000] [--mean 40] [--epochs 5]
 *          [--factors 64] [--threads N] [--batch-size 65536] [--score-users 5000] [--out bench/results/gpu.md]
 * Arms: `cpu` is models/bpr's CPU kernel (the default backend on machines without a GPU: WebAssembly SIMD,
 * --threads worker threads) and, for scoring, its `recommendFromFactors` in JS; `gpu` is models/bpr's TF.js
 * implementation on @tensorflow/tfjs-node-gpu (`tfBackend: 'node-gpu'`: it fails rather than fall back) and, for
 * scoring, one matMul and topk per block of users on the same backend. Quality (AUC of a held-out item against 50
 * unseen ones) is reported for each arm, so a fast but broken arm shows.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createBpr, loadTf, recommendFromFactors, type BprFactors, type BprModel } from '../models/bpr/index.js';
import { createRng } from '../models/random.js';
import { buildInteractionMatrix, hasInteraction } from '../models/interactions.js';

const { values } = parseArgs({
  options: {
    arms: { type: 'string', default: 'cpu,gpu' },
    users: { type: 'string', default: '100000' },
    items: { type: 'string', default: '50000' },
    mean: { type: 'string', default: '40' },
    epochs: { type: 'string', default: '5' },
    factors: { type: 'string', default: '64' },
    threads: { type: 'string', default: String(Math.max(1, cpus().length)) },
    'batch-size': { type: 'string', default: '65536' },
    'score-users': { type: 'string', default: '5000' },
    out: { type: 'string', default: 'bench/results/gpu.md' },
    note: { type: 'string', default: '' },
  },
  strict: true,
});
const ARMS = values.arms.split(',').map((a) => a.trim()).filter(Boolean);
for (const a of ARMS) if (a !== 'cpu' && a !== 'gpu') throw new Error(`--arms: unknown arm '${a}' (cpu, gpu)`);
const NU = Number(values.users);
const NI = Number(values.items);
const MEAN = Number(values.mean);
const EPOCHS = Number(values.epochs);
const F = Number(values.factors);
const THREADS = Number(values.threads);
const BATCH = Number(values['batch-size']);
const SCORE_USERS = Math.min(Number(values['score-users']), NU);
const log = (m: string): void => void process.stderr.write(`[gpu-bench] ${m}\n`);

// ---- data: users in 50 taste groups, items by a Zipf law through a group permutation; one item per user held out
const rng = createRng(20261202);
const GROUPS = 50;
const cdf = new Float64Array(NI);
{
  let s = 0;
  for (let r = 0; r < NI; r++) cdf[r] = s += 1 / (r + 1) ** 0.9;
  for (let r = 0; r < NI; r++) cdf[r]! /= s;
}
const zipf = () => {
  const x = rng.next();
  let lo = 0;
  let hi = NI - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const perms = Array.from({ length: GROUPS }, () => {
  const p = Int32Array.from({ length: NI }, (_, i) => i);
  for (let i = NI - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
});
const rows: { user: string; item: string; weight: number }[] = [];
const heldOut = new Int32Array(NU).fill(-1);
const t0 = performance.now();
for (let u = 0; u < NU; u++) {
  const n = Math.max(3, Math.round(MEAN * Math.exp(0.8 * (rng.next() + rng.next() + rng.next() - 1.5))));
  const g = perms[u % GROUPS]!;
  const seen = new Set<number>();
  for (let k = 0; k < n * 2 && seen.size < n; k++) seen.add(rng.next() < 0.8 ? g[zipf()]! : zipf());
  const items = [...seen];
  heldOut[u] = items.pop()!;
  for (const i of items) rows.push({ user: `u${u}`, item: `i${i}`, weight: 1 });
}
// every item id appears in the training matrix, so held-out items are known to the model
for (let i = 0; i < NI; i++) rows.push({ user: `u${i % NU}`, item: `i${i}`, weight: 1 });
const train = await buildInteractionMatrix(rows);
log(`data: ${train.users.ids.length} users, ${train.items.ids.length} items, ${train.nnz} interactions (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

/** AUC of each sampled user's held-out item against 50 random items unseen in training. */
function heldOutAuc(f: BprFactors): number {
  const s = f.stride;
  const r = createRng(7);
  let sum = 0;
  let n = 0;
  for (let k = 0; k < 2000; k++) {
    const uid = r.int(NU);
    const u = train.users.indexOf(`u${uid}`);
    const i = train.items.indexOf(`i${heldOut[uid]}`);
    if (u === undefined || i === undefined || hasInteraction(train, u, i)) continue;
    const score = (item: number) => {
      let x = 0;
      for (let c = 0; c < s; c++) x += f.userFactors[u * s + c]! * f.itemFactors[item * s + c]!;
      return x;
    };
    const pos = score(i);
    let wins = 0;
    let draws = 0;
    for (let d = 0; d < 50; d++) {
      const j = r.int(NI);
      if (j === i || hasInteraction(train, u, j)) continue;
      const x = score(j);
      wins += pos > x ? 1 : pos === x ? 0.5 : 0;
      draws++;
    }
    if (draws > 0) {
      sum += wins / draws;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

interface ArmResult {
  arm: string;
  backend: string;
  trainSeconds: number;
  samplesPerSecond: number;
  auc: number;
  scoreSeconds: number;
  usersPerSecond: number;
}

async function scoreGpu(f: BprFactors, users: number): Promise<number> {
  const { tf } = await loadTf('node-gpu');
  const s = f.stride;
  const items = tf.tensor2d(f.itemFactors, [f.items.ids.length, s]);
  const block = 4096;
  const start = performance.now();
  for (let u0 = 0; u0 < users; u0 += block) {
    const n = Math.min(block, users - u0);
    const top = tf.tidy(() => {
      const uf = tf.tensor2d(f.userFactors.subarray(u0 * s, (u0 + n) * s), [n, s]);
      return tf.topk(tf.matMul(uf, items, false, true), 10);
    });
    await top.indices.data(); // the result back on the host, as a caller would need it
    top.indices.dispose();
    top.values.dispose();
  }
  items.dispose();
  return (performance.now() - start) / 1000;
}

async function runArm(arm: string): Promise<ArmResult> {
  const common = { factors: F, epochs: EPOCHS, seed: 11, log };
  const model: BprModel = arm === 'cpu'
    ? await createBpr({ ...common, backend: 'cpu', threads: THREADS })
    : await createBpr({ ...common, backend: 'tfjs', tfBackend: 'node-gpu', batchSize: BATCH });
  log(`${arm}: training ${EPOCHS} epochs of ${F} factors`);
  const report = await model.fit(train, { onEpoch: (e) => log(`${arm}: epoch ${e.epoch}/${EPOCHS}: ${Math.round(e.samplesPerSecond)} samples/s`) });
  const samples = report.epochs.reduce((a, e) => a + e.samples, 0);
  const f = model.model;
  const auc = heldOutAuc(f);
  const users = Int32Array.from({ length: SCORE_USERS }, (_, i) => i);
  let scoreSeconds: number;
  if (arm === 'cpu') {
    const start = performance.now();
    recommendFromFactors(f, users, 10);
    scoreSeconds = (performance.now() - start) / 1000;
  } else {
    await scoreGpu(f, Math.min(1024, SCORE_USERS)); // warm-up: kernels and cuBLAS handles
    scoreSeconds = await scoreGpu(f, SCORE_USERS);
  }
  const r = { arm, backend: report.backend, trainSeconds: report.seconds, samplesPerSecond: samples / report.seconds, auc, scoreSeconds, usersPerSecond: SCORE_USERS / scoreSeconds };
  log(`${arm}: ${JSON.stringify(r)}`);
  model.dispose();
  return r;
}

const results: ArmResult[] = [];
for (const arm of ARMS) results.push(await runArm(arm));
const cpu = results.find((r) => r.arm === 'cpu');
const md = [
  '# BPR: CPU against GPU',
  '',
  `Measured by \`bash bench/gpu.sh${ARMS.includes('gpu') ? '' : ' --cpu-only'}\` on ${new Date().toISOString().slice(0, 10)}${values.note ? ` (${values.note})` : ''}.`,
  `Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores; Node ${process.version}.`,
  `Data (seeded): ${NU} users, ${NI} items, ${train.nnz} interactions; ${F} factors, ${EPOCHS} epochs; scoring: top 10 over every item for ${SCORE_USERS} users.`,
  '',
  '| arm | backend | training s | samples/s | held-out AUC | scoring s | users scored/s |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.arm} | ${r.backend} | ${r.trainSeconds.toFixed(1)} | ${Math.round(r.samplesPerSecond)} | ${r.auc.toFixed(3)} | ${r.scoreSeconds.toFixed(2)} | ${Math.round(r.usersPerSecond)} |`),
  '',
  ...results.filter((r) => r.arm !== 'cpu' && cpu).map((r) => `GPU against CPU: training ${(r.samplesPerSecond / cpu!.samplesPerSecond).toFixed(2)}×, scoring ${(r.usersPerSecond / cpu!.usersPerSecond).toFixed(2)}×.`),
  '',
].join('\n');
await writeFile(values.out, md);
process.stdout.write(md);
