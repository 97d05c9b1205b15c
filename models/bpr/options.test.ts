import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdMap, fromCoo, type IdMap, type InteractionMatrix } from '../interactions.js';
import {
  BprOptionsError, createCpuBpr, createTfjsBpr, DEFAULT_BPR_OPTIONS, epochLearningRate, IMPLICIT_PARITY_OPTIONS, loadFactors, MAX_EXPANSION, positiveTable,
  resolveBprOptions, type BprOptions, type EpochReport,
} from './index.js';

const N = 20;

/** The checkerboard of bpr.test.ts (user u likes the items of u's parity but u), with play counts 1..50 as weights. */
function weightedBoard(): InteractionMatrix {
  const r: number[] = [];
  const c: number[] = [];
  const w: number[] = [];
  for (let u = 0; u < N; u++) for (let i = 0; i < N; i++) {
    if (i !== u && (i + u) % 2 === 0) {
      r.push(u);
      c.push(i);
      w.push(1 + ((u * 7 + i * 13) % 50));
    }
  }
  const ids = (p: string): IdMap => createIdMap(Array.from({ length: N }, (_, k) => `${p}${k}`));
  return fromCoo(ids('u'), ids('i'), Int32Array.from(r), Int32Array.from(c), Float32Array.from(w));
}

const OPTS: Partial<BprOptions> = { factors: 8, learningRate: 0.1, regularization: 0.001, epochs: 150, seed: 3 };

describe('positive table (confidence sampling)', () => {
  const board = weightedBoard();

  it('is the CSR arrays themselves with α = 0 or equal weights', () => {
    const t = positiveTable(board, 0);
    expect(t.size).toBe(board.nnz);
    expect(t.indices).toBe(board.indices);
    const binary = { ...board, weights: new Float32Array(board.nnz).fill(3) };
    expect(positiveTable(binary, 1).size).toBe(board.nnz);
  });

  it('starts with the CSR arrays and repeats each interaction ∝ 1 + α·ln(1 + w), within the size cap', () => {
    const alpha = 1;
    const t = positiveTable(board, alpha);
    expect(Array.from(t.indices.subarray(0, board.nnz))).toEqual(Array.from(board.indices));
    expect(Array.from(t.userOf.subarray(0, board.nnz))).toEqual(Array.from(board.userOf));
    expect(t.size).toBeGreaterThan(board.nnz);
    expect(t.size).toBeLessThanOrEqual(MAX_EXPANSION * board.nnz + board.nnz);
    const copies = new Map<string, number>();
    for (let j = 0; j < t.size; j++) {
      const key = `${t.userOf[j]}:${t.indices[j]}`;
      copies.set(key, (copies.get(key) ?? 0) + 1);
    }
    expect(copies.size).toBe(board.nnz);
    // each interaction's share of the table matches its confidence's share, up to the rounding of copies
    const conf = Array.from(board.weights, (w) => 1 + alpha * Math.log1p(w));
    const total = conf.reduce((a, b) => a + b, 0);
    for (let j = 0; j < board.nnz; j++) {
      const share = copies.get(`${board.userOf[j]}:${board.indices[j]}`)! / t.size;
      // copies are whole numbers of at least scale ≥ 3 here, so rounding moves a share by at most 1/6
      expect(Math.abs(share - conf[j]! / total) / (conf[j]! / total)).toBeLessThan(0.17);
    }
  });
});

describe('learning-rate schedule', () => {
  it('runs linearly from learningRate to learningRate × learningRateDecay; 1 is constant', () => {
    const o = resolveBprOptions({ learningRate: 0.1, learningRateDecay: 0.1, epochs: 11 });
    expect(epochLearningRate(o, 0)).toBeCloseTo(0.1, 12);
    expect(epochLearningRate(o, 5)).toBeCloseTo(0.055, 12);
    expect(epochLearningRate(o, 10)).toBeCloseTo(0.01, 12);
    const flat = resolveBprOptions({ learningRate: 0.1, learningRateDecay: 1, epochs: 11 });
    expect(epochLearningRate(flat, 10)).toBe(0.1);
  });
});

describe('dynamic negative sampling', () => {
  const IMPLS = [
    { name: 'cpu wasm simd', create: (o: Partial<BprOptions>) => createCpuBpr(o) },
    { name: 'cpu plain js', create: (o: Partial<BprOptions>) => createCpuBpr({ ...o, simd: false }) },
    { name: 'tfjs', create: (o: Partial<BprOptions>) => createTfjsBpr({ ...o, tfBackend: 'auto' }) },
  ];
  for (const impl of IMPLS) {
    it(`dynamic negative sampling keeps the highest-scoring of the candidates (${impl.name})`, async () => {
      // frozen factors (lr ≈ 0): every user's one positive, item 0, scores 0.5; the other 100 items score (1..100)/101.
      // A plain draw outscores the positive with p ≈ 1/2; the best of 4 draws with p ≈ 1 − 1/2⁴.
      const users = 200;
      const items = 101;
      const m = fromCoo(createIdMap(Array.from({ length: users }, (_, u) => `u${u}`)), createIdMap(Array.from({ length: items }, (_, i) => `i${i}`)),
        new Int32Array(users).map((_, u) => u), new Int32Array(users), new Float32Array(users).fill(1));
      const warm = {
        factors: 1, itemBias: false, stride: 1, users: m.users, items: m.items,
        userFactors: new Float32Array(users).fill(1), itemFactors: Float32Array.from({ length: items }, (_, i) => (i === 0 ? 0.5 : i / items)),
      };
      const correct = async (negativeCandidates: number): Promise<number> => {
        const reports: EpochReport[] = [];
        await impl.create({ factors: 1, itemBias: false, learningRate: 1e-9, regularization: 0, epochs: 25, negativeCandidates, learningRateDecay: 1, batchSize: 50 })
          .fit(m, { warmStart: warm, onEpoch: (r) => reports.push(r) });
        return reports.reduce((a, r) => a + r.auc, 0) / reports.length;
      };
      expect(Math.abs((await correct(1)) - 0.5)).toBeLessThan(0.05);
      expect(Math.abs((await correct(4)) - 1 / 16)).toBeLessThan(0.03);
    });
  }
});

describe('new options', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bpr-options-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const simd of [true, false]) {
    const kernel = simd ? 'wasm simd' : 'plain js';

    it(`learns the weighted checkerboard with the defaults' confidence, candidates and decay (${kernel})`, async () => {
      const m = createCpuBpr({ ...OPTS, simd, confidence: 1, negativeCandidates: 3, learningRateDecay: 0.1 });
      const board = weightedBoard();
      await m.fit(board);
      for (let u = 0; u < N; u++) expect(m.recommend(u, 1, board).items[0]).toBe(u);
    });

    it(`resumes from a checkpoint with startEpoch, bit for bit (${kernel})`, async () => {
      const board = weightedBoard();
      const o = { ...OPTS, epochs: 6, simd, confidence: 1, negativeCandidates: 3, learningRateDecay: 0.2 };
      const whole = createCpuBpr(o);
      await whole.fit(board, { checkpoint: { dir: join(dir, kernel), every: 3 } });
      const { factors } = await loadFactors(join(dir, kernel, 'epoch-0003'));
      const resumed = createCpuBpr(o);
      const epochs: number[] = [];
      await resumed.fit(board, { warmStart: factors, startEpoch: 3, onEpoch: (r) => epochs.push(r.epoch) });
      expect(epochs).toEqual([4, 5, 6]);
      expect(resumed.model.userFactors).toEqual(whole.model.userFactors);
      expect(resumed.model.itemFactors).toEqual(whole.model.itemFactors);
    });
  }

  it('rejects bad values at once', async () => {
    expect(() => createCpuBpr({ confidence: -1 })).toThrow(BprOptionsError);
    expect(() => createCpuBpr({ negativeCandidates: 0 })).toThrow(BprOptionsError);
    expect(() => createCpuBpr({ learningRateDecay: 0 })).toThrow(BprOptionsError);
    expect(() => createCpuBpr({ learningRateDecay: 1.5 })).toThrow(BprOptionsError);
    await expect(createCpuBpr({ ...OPTS, epochs: 2 }).fit(weightedBoard(), { startEpoch: 3 })).rejects.toThrow(RangeError);
  });

  it('the implicit parity options undo every departure from implicit’s BPR', () => {
    const o = resolveBprOptions({ ...IMPLICIT_PARITY_OPTIONS });
    expect(o).toMatchObject({ negatives: 'popularity', confidence: 0, negativeCandidates: 1, learningRateDecay: 1 });
    expect(DEFAULT_BPR_OPTIONS.negativeCandidates).toBeGreaterThan(1);
  });
});
