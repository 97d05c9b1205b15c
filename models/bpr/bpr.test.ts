import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdMap, fromCoo, hasInteraction, type IdMap, type InteractionMatrix } from '../interactions.js';
import { BprOptionsError, createBpr, createCpuBpr, createTfjsBpr, loadBpr, type BprModel, type BprOptions, type EpochReport } from './index.js';

/** Every implementation runs the same suite (kysely's `for (const dialect of DIALECTS)`). */
const IMPLS: ReadonlyArray<{ name: string; create: (o: Partial<BprOptions>) => BprModel }> = [
  { name: 'cpu (wasm simd)', create: (o) => createCpuBpr(o) },
  { name: 'cpu (plain js)', create: (o) => createCpuBpr({ ...o, simd: false }) },
  { name: 'tfjs', create: (o) => createTfjsBpr({ ...o, tfBackend: 'auto' }) },
];

const N = 20;

/**
 * Checkerboard: user u likes every item of u's parity except item u itself. Recommending with the training items
 * excluded leaves item u as the only item of the user's parity, so it must come first.
 */
function checkerboard(): InteractionMatrix {
  const r: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < N; u++) for (let i = 0; i < N; i++) {
    if (i !== u && (i + u) % 2 === 0) {
      r.push(u);
      c.push(i);
    }
  }
  const ids = (p: string): IdMap => createIdMap(Array.from({ length: N }, (_, k) => `${p}${k}`));
  return fromCoo(ids('u'), ids('i'), Int32Array.from(r), Int32Array.from(c), new Float32Array(r.length).fill(1));
}

const FIXTURE_OPTS: Partial<BprOptions> = { factors: 8, learningRate: 0.1, regularization: 0.001, epochs: 150, seed: 3, batchSize: 64 };

for (const impl of IMPLS) {
  describe(`BPR (${impl.name})`, () => {
    let board: InteractionMatrix;
    let trained: BprModel;
    const reports: EpochReport[] = [];
    let dir: string;

    beforeAll(async () => {
      board = checkerboard();
      dir = await mkdtemp(join(tmpdir(), `bpr-${impl.name}-`));
      trained = impl.create(FIXTURE_OPTS);
      await trained.fit(board, { onEpoch: (r) => reports.push(r) });
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('checkerboard: user i’s top item is i (training items excluded)', () => {
      for (let u = 0; u < N; u++) {
        const r = trained.recommend(u, 3, board);
        expect(board.items.ids[r.items[0]!]).toBe(`i${u}`);
      }
    });

    it('never recommends a training item, and ranks by descending score', () => {
      const recs = trained.recommendMany([0, 1, 2, 3], N, board);
      recs.forEach((r, u) => {
        expect(r.items.length).toBe(N - (N / 2 - 1));
        for (const i of r.items) expect(hasInteraction(board, u, i)).toBe(false);
        for (let j = 1; j < r.scores.length; j++) expect(r.scores[j]!).toBeLessThanOrEqual(r.scores[j - 1]!);
      });
    });

    it('learns: the training AUC estimate rises and the loss falls', () => {
      expect(reports).toHaveLength(FIXTURE_OPTS.epochs!);
      expect(reports.at(-1)!.auc).toBeGreaterThan(reports[0]!.auc);
      expect(reports.at(-1)!.auc).toBeGreaterThan(0.9);
      expect(reports.at(-1)!.loss).toBeLessThan(reports[0]!.loss);
      expect(trained.backend).not.toMatch(/\(/);
    });

    it('similarItems: the nearest items share the parity', () => {
      for (let i = 0; i < N; i++) {
        const r = trained.similarItems(i, 3);
        expect(r.items).not.toContain(i);
        for (const j of r.items) expect(j % 2).toBe(i % 2);
      }
    });

    it('is deterministic with one thread and a seed, and the seed matters', async () => {
      const a = impl.create({ ...FIXTURE_OPTS, epochs: 5 });
      const b = impl.create({ ...FIXTURE_OPTS, epochs: 5 });
      const c = impl.create({ ...FIXTURE_OPTS, epochs: 5, seed: 4 });
      await a.fit(board);
      await b.fit(board);
      await c.fit(board);
      expect(b.model.itemFactors).toEqual(a.model.itemFactors);
      expect(b.model.userFactors).toEqual(a.model.userFactors);
      expect(c.model.itemFactors).not.toEqual(a.model.itemFactors);
    });

    it('saves and loads (into either implementation) with identical recommendations', async () => {
      const manifest = await trained.save(join(dir, 'model'), { dataHash: 'abc' });
      expect(manifest).toMatchObject({ format: 'buddies-bpr', factors: 8, numUsers: N, numItems: N, dataHash: 'abc', backend: trained.backend });
      const before = trained.recommendMany([0, 5], 5, board);
      for (const backend of ['cpu', 'tfjs'] as const) {
        const loaded = await loadBpr(join(dir, 'model'), { backend });
        expect(loaded.model.users.ids).toEqual(board.users.ids);
        expect(loaded.recommendMany([0, 5], 5, board)).toEqual(before);
        expect(loaded.options.factors).toBe(8);
      }
    });

    it('warm-starts from a previous model (matched by id) and writes checkpoints', async () => {
      const warm = impl.create({ ...FIXTURE_OPTS, epochs: 2 });
      const first: EpochReport[] = [];
      await warm.fit(board, { warmStart: trained.model, onEpoch: (r) => first.push(r), checkpoint: { dir: join(dir, 'ckpt') } });
      // starting from the trained factors, the first epoch already ranks like the last one did
      expect(first[0]!.auc).toBeGreaterThan(reports[0]!.auc + 0.05);
      expect((await readdir(join(dir, 'ckpt'))).sort()).toEqual(['epoch-0001', 'epoch-0002']);
      const ck = await loadBpr(join(dir, 'ckpt', 'epoch-0002'));
      expect(ck.model.itemFactors).toEqual(warm.model.itemFactors);
    });

    it('learns with popularity-weighted negatives too', async () => {
      const m = impl.create({ ...FIXTURE_OPTS, negatives: 'popularity' });
      await m.fit(board);
      let hits = 0;
      for (let u = 0; u < N; u++) if (m.recommend(u, 1, board).items[0] === u) hits++;
      expect(hits).toBe(N);
    });

    it('throws before fit, and rejects bad options at once', () => {
      expect(() => impl.create({}).recommend(0, 1)).toThrow(/not fitted/);
      expect(() => impl.create({ factors: 0 })).toThrow(BprOptionsError);
      expect(() => impl.create({ learningRate: -1 })).toThrow(BprOptionsError);
    });
  });
}

describe('BPR cpu kernel, threads', () => {
  for (const simd of [true, false]) {
    it(`hogwild with 2 worker threads learns the checkerboard (simd ${simd})`, async () => {
      const board = checkerboard();
      const m = createCpuBpr({ ...FIXTURE_OPTS, threads: 2, simd });
      const reports: EpochReport[] = [];
      await m.fit(board, { onEpoch: (r) => reports.push(r) });
      for (let u = 0; u < N; u++) expect(m.recommend(u, 1, board).items[0]).toBe(u);
      expect(reports.at(-1)!.samples).toBe(board.nnz);
      expect(m.backend).toBe(simd ? 'cpu-wasm-simd' : 'cpu-js');
    });
  }
});

describe('createBpr', () => {
  it('picks cpu, tfjs, or (auto, no GPU here or there) whichever runs', async () => {
    const lines: string[] = [];
    expect((await createBpr({ backend: 'cpu', log: (l) => lines.push(l) })).backend).toMatch(/^cpu-/);
    const auto = await createBpr({ backend: 'auto', log: (l) => lines.push(l) });
    expect(auto.backend).toMatch(/^(cpu-|tfjs-node-gpu)/);
    expect(lines[0]).toMatch(/cpu/);
    await expect(createBpr({ backend: 'gpu' as never })).rejects.toThrow(RangeError);
  });
});
