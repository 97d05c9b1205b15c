/**
 * BPR training throughput (samples/s) at 64 factors, ours (cpu-js kernel, 1 and 2 threads) next to the `implicit`
 * library's CPU BPR on the same data in the same run, with the quality of every model on the same holdout.
 *
 * Usage: npx tsx bench/bpr-throughput.ts [--users 100000] [--items 50000] [--mean 52] [--epochs 10]
 *          [--python /tmp/bpr-venv/bin/python] [--dir /tmp/bpr-bench] [--out bench/results/bpr-throughput.md]
 * Needs a Python with implicit (pip install implicit) — see docs/models-bpr.md; without it, ours runs alone.
 *
 * Data (seeded): users in 100 taste groups, activity log-normal (mean about --mean items), items drawn from a
 * Zipf(0.9) popularity law through a group-specific permutation (80%) or the global one (20%), duplicates
 * dropped. One item per user is held out (leave-one-out); the rest is written as `user\titem\t1` to
 * DIR/train.tsv, which both implementations read. Same hyperparameters for both: 64 factors plus an item
 * bias, lr 0.05, reg 0.01, popularity-weighted negatives with verification (implicit's only mode), --epochs.
 * Quality: AUC of the held-out item against 50 sampled unseen items per user (the same for every model), and
 * HR@10 / NDCG@10 of full ranking (training items excluded) over 2000 sampled users.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLoadReport, readInteractions } from '../data/index.js';
import { createCpuBpr, IMPLICIT_PARITY_OPTIONS, type BprFactors } from '../models/bpr/index.js';
import { createRng } from '../models/random.js';
import { buildInteractionMatrix, hasInteraction, type InteractionMatrix } from '../models/interactions.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    items: { type: 'string', default: '50000' },
    mean: { type: 'string', default: '52' },
    epochs: { type: 'string', default: '10' },
    factors: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.05' },
    reg: { type: 'string', default: '0.01' },
    threads: { type: 'string', default: '1,2' },
    python: { type: 'string', default: '/tmp/bpr-venv/bin/python' },
    dir: { type: 'string', default: '/tmp/bpr-bench' },
    out: { type: 'string', default: 'bench/results/bpr-throughput.md' },
  },
  strict: true,
});
const NU = Number(values.users);
const NI = Number(values.items);
const EPOCHS = Number(values.epochs);
const F = Number(values.factors);
const LR = Number(values.lr);
const REG = Number(values.reg);
const THREADS = values.threads.split(',').map(Number);
const DIR = values.dir;
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

// ---- data -------------------------------------------------------------------------------------------
const rng = createRng(20240601);
const GROUPS = 100;
const zipfCdf = new Float64Array(NI);
{
  let s = 0;
  for (let r = 0; r < NI; r++) zipfCdf[r] = s += 1 / (r + 1) ** 0.9;
  for (let r = 0; r < NI; r++) zipfCdf[r]! /= s;
}
const zipfRank = (): number => {
  const x = rng.next();
  let lo = 0;
  let hi = NI - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (zipfCdf[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
// 7919 is prime, so rank → (rank·7919 + offset) mod NI is a bijection for each group's offset
const itemOf = (rank: number, group: number): number => (rank * 7919 + group * 4999) % NI;
const mu = Math.log(Number(values.mean)) - 0.32;

await mkdir(DIR, { recursive: true });
const trainPath = join(DIR, 'train.tsv');
const testU: number[] = [];
const testI: number[] = [];
let trainRows = 0;
{
  const t0 = performance.now();
  const out = createWriteStream(trainPath);
  let buf: string[] = [];
  const flush = async (): Promise<void> => {
    if (!out.write(buf.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
    buf = [];
  };
  for (let u = 0; u < NU; u++) {
    const g = u % GROUPS;
    const n = Math.min(NI / 4, Math.max(2, Math.round(Math.exp(mu + 0.8 * rng.normal()))));
    const items = new Set<number>();
    while (items.size < n) items.add(rng.next() < 0.8 ? itemOf(zipfRank(), g) : itemOf(zipfRank(), 0));
    const list = [...items];
    const held = rng.int(list.length);
    testU.push(u);
    testI.push(list[held]!);
    for (let j = 0; j < list.length; j++) {
      if (j === held) continue;
      buf.push(`${u}\t${list[j]}\t1\n`);
      trainRows++;
    }
    if (buf.length > 50_000) await flush();
  }
  await flush();
  await new Promise<void>((r) => out.end(r));
  log(`generated ${NU} users × ${NI} items: ${trainRows} training pairs + ${testU.length} held out in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${trainPath}`);
}

// ---- ours: read the same file -------------------------------------------------------------------------
const tLoad = performance.now();
const report = createLoadReport();
const train = await buildInteractionMatrix(readInteractions(trainPath, 'triplets', report));
log(`read ${report.records} rows into CSR in ${((performance.now() - tLoad) / 1000).toFixed(1)}s: ${train.users.ids.length} users × ${train.items.ids.length} items, ${train.nnz} pairs`);

/** Factors in the bench's integer id space, so ours (first-seen indices) and implicit's (ids) score alike. */
interface Scorer {
  readonly name: string;
  readonly stride: number;
  readonly U: Float32Array;
  readonly V: Float32Array;
  /** Row of integer user id u / item id i, or −1. */
  readonly userRow: Int32Array;
  readonly itemRow: Int32Array;
}

function scorerFromOurs(name: string, f: BprFactors): Scorer {
  const userRow = new Int32Array(NU).fill(-1);
  const itemRow = new Int32Array(NI).fill(-1);
  f.users.ids.forEach((id, r) => (userRow[Number(id)] = r));
  f.items.ids.forEach((id, r) => (itemRow[Number(id)] = r));
  return { name, stride: f.stride, U: f.userFactors, V: f.itemFactors, userRow, itemRow };
}

// the same negatives for every model: 50 unseen items per test user
const NEG = 50;
const negs = new Int32Array(NU * NEG);
{
  const r = createRng(99);
  const test = new Map<number, number>(testU.map((u, j) => [u, testI[j]!]));
  for (let u = 0; u < NU; u++) {
    const row = train.users.indexOf(String(u));
    for (let j = 0; j < NEG; j++) {
      let i: number;
      do i = r.int(NI);
      while (i === test.get(u) || (row !== undefined && train.items.indexOf(String(i)) !== undefined && hasInteraction(train, row, train.items.indexOf(String(i))!)));
      negs[u * NEG + j] = i;
    }
  }
}
const rankUsers = Int32Array.from({ length: Math.min(2000, NU) }, (_, j) => (j * 7919 + 13) % NU);

function quality(s: Scorer, m: InteractionMatrix): { auc: number; hr10: number; ndcg10: number } {
  const dot = (ur: number, ir: number): number => {
    if (ur < 0 || ir < 0) return 0; // an item nobody trained on scores 0
    let x = 0;
    for (let c = 0; c < s.stride; c++) x += s.U[ur * s.stride + c]! * s.V[ir * s.stride + c]!;
    return x;
  };
  let auc = 0;
  let nAuc = 0;
  for (let j = 0; j < testU.length; j++) {
    const u = testU[j]!;
    const ur = s.userRow[u]!;
    if (ur < 0) continue;
    const pos = dot(ur, s.itemRow[testI[j]!]!);
    let below = 0;
    for (let k = 0; k < NEG; k++) {
      const x = dot(ur, s.itemRow[negs[u * NEG + k]!]!);
      below += x < pos ? 1 : x === pos ? 0.5 : 0;
    }
    auc += below / NEG;
    nAuc++;
  }
  // full ranking for a sample of users: rank of the held-out item among all items the user has not trained on
  let hr = 0;
  let ndcg = 0;
  const scores = new Float32Array(NI);
  for (const u of rankUsers) {
    const ur = s.userRow[u]!;
    const mRow = m.users.indexOf(String(u));
    for (let i = 0; i < NI; i++) scores[i] = dot(ur, s.itemRow[i]!);
    if (mRow !== undefined) for (let p = m.indptr[mRow]!; p < m.indptr[mRow + 1]!; p++) scores[Number(m.items.ids[m.indices[p]!])] = -Infinity;
    const target = scores[testI[u]!]!;
    let rank = 0;
    for (let i = 0; i < NI; i++) if (scores[i]! > target) rank++;
    if (rank < 10) {
      hr++;
      ndcg += 1 / Math.log2(rank + 2);
    }
  }
  return { auc: auc / nAuc, hr10: hr / rankUsers.length, ndcg10: ndcg / rankUsers.length };
}

interface Row {
  impl: string;
  threads: number;
  seconds: number;
  samplesPerSecond: number;
  /** Samples per CPU-second of the whole process (all threads): robust to other load on a shared machine. */
  samplesPerCpuSecond: number;
  auc: number;
  hr10: number;
  ndcg10: number;
}
const rows: Row[] = [];

for (const t of THREADS) {
  // implicit's training rules (popularity negatives, one draw, all positives alike, constant lr), whatever our defaults
  const model = createCpuBpr({ ...IMPLICIT_PARITY_OPTIONS, factors: F, epochs: EPOCHS, learningRate: LR, regularization: REG, threads: t, seed: 1 });
  log(`ours, ${t} thread(s): ${EPOCHS} epochs of ${train.nnz} samples…`);
  const cpu0 = process.cpuUsage();
  const rep = await model.fit(train, { onEpoch: (e) => log(`  ours t${t} epoch ${e.epoch}: ${Math.round(e.samplesPerSecond).toLocaleString('en-US')} samples/s, train AUC≈${e.auc.toFixed(4)}`) });
  const cpu = process.cpuUsage(cpu0);
  const q = quality(scorerFromOurs(`ours-t${t}`, model.model), train);
  model.dispose();
  rows.push({ impl: `buddies ${model.backend}`, threads: t, seconds: rep.seconds, samplesPerSecond: (train.nnz * EPOCHS) / rep.seconds, samplesPerCpuSecond: (train.nnz * EPOCHS) / ((cpu.user + cpu.system) / 1e6), ...q });
  log(`  → ${rows.at(-1)!.samplesPerSecond.toFixed(0)} samples/s (fit total ${rep.seconds.toFixed(1)}s), AUC ${q.auc.toFixed(4)}, HR@10 ${q.hr10.toFixed(4)}, NDCG@10 ${q.ndcg10.toFixed(4)}`);
}

// ---- implicit ---------------------------------------------------------------------------------------------
let implicitNote = '';
if (!existsSync(values.python)) {
  implicitNote = `implicit not run: no Python at ${values.python} (python -m venv /tmp/bpr-venv && /tmp/bpr-venv/bin/pip install implicit)`;
  log(implicitNote);
} else {
  log(`implicit: ${values.python} bench/bpr-implicit.py …`);
  const r = spawnSync(values.python, ['bench/bpr-implicit.py', trainPath, DIR, '--factors', String(F), '--epochs', String(EPOCHS), '--lr', String(LR), '--reg', String(REG), '--threads', THREADS.join(','), '--users', String(NU), '--items', String(NI)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    implicitNote = `implicit failed (exit ${r.status})`;
    log(implicitNote);
  } else {
    for (const line of r.stdout.trim().split('\n')) {
      const j = JSON.parse(line) as { threads: number; seconds: number; cpu_seconds: number; samples: number; samples_per_s: number; stride: number };
      const U = new Float32Array((await readFile(join(DIR, `implicit-t${j.threads}.f32u`))).buffer.slice(0));
      const V = new Float32Array((await readFile(join(DIR, `implicit-t${j.threads}.f32i`))).buffer.slice(0));
      const ident = Int32Array.from({ length: NU }, (_, i) => i);
      const identI = Int32Array.from({ length: NI }, (_, i) => i);
      const q = quality({ name: `implicit-t${j.threads}`, stride: j.stride, U, V, userRow: ident, itemRow: identI }, train);
      rows.push({ impl: 'implicit (CPU)', threads: j.threads, seconds: j.seconds, samplesPerSecond: j.samples_per_s, samplesPerCpuSecond: j.samples / j.cpu_seconds, ...q });
      log(`  implicit t${j.threads} → ${j.samples_per_s.toFixed(0)} samples/s (${j.seconds.toFixed(1)}s), AUC ${q.auc.toFixed(4)}, HR@10 ${q.hr10.toFixed(4)}, NDCG@10 ${q.ndcg10.toFixed(4)}`);
    }
  }
}

// implicit does not redraw a negative that the user has: it skips the whole sample (no update) and still counts it.
// The expected share of such samples with popularity-weighted negatives: Σ_u (n_u / nnz) · (Σ_{i ∈ u} pop_i / nnz).
let skipShare = 0;
{
  const pop = new Float64Array(train.items.ids.length);
  for (let j = 0; j < train.nnz; j++) pop[train.indices[j]!]! += 1;
  for (let u = 0; u < train.users.ids.length; u++) {
    let s = 0;
    for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) s += pop[train.indices[p]!]!;
    skipShare += ((train.indptr[u + 1]! - train.indptr[u]!) / train.nnz) * (s / train.nnz);
  }
}

// ---- report -----------------------------------------------------------------------------------------------
const implicitVersion = existsSync(values.python) ? spawnSync(values.python, ['-c', 'import implicit; print(implicit.__version__)'], { encoding: 'utf8' }).stdout.trim() : 'n/a';
const md = [
  '# BPR training throughput: buddies (cpu, WebAssembly SIMD kernel) vs implicit (CPU)',
  '',
  `Command: \`npx tsx bench/bpr-throughput.ts --users ${NU} --items ${NI} --epochs ${EPOCHS}\` (${new Date().toISOString().slice(0, 10)}).  `,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, implicit ${implicitVersion}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')} (the machine is shared: wall-clock rates are noisy).  `,
  `Data (seeded, generated by the script): ${NU.toLocaleString('en-US')} users × ${NI.toLocaleString('en-US')} items, ${train.nnz.toLocaleString('en-US')} training pairs (Zipf 0.9 items in 100 taste groups), one held-out item per user.  `,
  `Both: ${F} factors + item bias, lr ${LR}, reg ${REG}, ${EPOCHS} epochs of nnz samples each, popularity-weighted negatives with verification; both read the same train.tsv.  `,
  `samples/s = epochs × nnz / fit wall seconds (whole fit, setup included); per CPU-s = the same over the process's CPU time (all threads), which other load on the machine disturbs less. AUC: held-out item vs 50 sampled unseen items per user (same negatives for all); HR@10 / NDCG@10: full ranking, training items excluded, 2,000 users.`,
  '',
  '| implementation | threads | fit seconds | samples/s | samples per CPU-s | AUC | HR@10 | NDCG@10 |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.impl} | ${r.threads} | ${r.seconds.toFixed(1)} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} | ${Math.round(r.samplesPerCpuSecond).toLocaleString('en-US')} | ${r.auc.toFixed(4)} | ${r.hr10.toFixed(4)} | ${r.ndcg10.toFixed(4)} |`),
  '',
  `Note on counting: on a negative that the user has, ours redraws it (up to 16 times) and always updates; implicit skips the sample (no update) and still counts it. With popularity-weighted negatives on this data that is an expected ${(100 * skipShare).toFixed(1)}% of implicit's samples, so per *update* implicit's rates are that much lower than shown.`,
  '',
  ...(implicitNote ? [implicitNote, ''] : []),
];
await writeFile(values.out, md.join('\n'));
process.stdout.write(md.join('\n'));
