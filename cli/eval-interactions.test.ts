import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRng } from '../models/random.js';
import { createJsonlRunStore } from '../runs/index.js';
import { UsageError } from './command.js';
import { evalCommand } from './eval.js';
import { runsCommand } from './runs.js';
import { sampleConfig, SEARCH_SPACE } from '../models/eval/index.js';
import { tuneCommand } from './tune.js';
import { loadConfig } from '../config/index.js';

const ctx = { config: loadConfig({}), verbose: false };

let dir: string;
let data: string;
let runs: string;

/** Two taste groups (parity of user and item), Last.fm format. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-b-'));
  data = join(dir, 'user_artists.dat');
  runs = join(dir, 'runs.jsonl');
  const lines = ['userID\tartistID\tweight'];
  for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if ((u * 3 + i) % 4 !== 0) lines.push(`${u}\t${i}\t1`);
  await writeFile(data, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function captureStdout(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out, restore: () => spy.mockRestore() };
}

describe('buddies eval interactions', () => {
  it('prints a table, writes JSON and Markdown, records the run; BPR beats the baselines on taste groups', async () => {
    const out = join(dir, 'eval.json');
    const md = join(dir, 'eval.md');
    const cap = captureStdout();
    const code = await evalCommand.run(['interactions', '--interactions', data, '--format', 'lastfm', '--k', '5', '--factors', '8', '--epochs', '40', '--lr', '0.1', '--threads', '1', '--backend', 'cpu', '--out', out, '--markdown', md, '--runs', runs], ctx);
    cap.restore();
    expect(code).toBe(0);
    expect(cap.text()).toMatch(/popularity[\s\S]*random[\s\S]*bpr \(cpu-wasm-simd\)/);
    const json = JSON.parse(await readFile(out, 'utf8'));
    const ndcg = (n: string): number => json.methods.find((m: { name: string }) => m.name.startsWith(n)).metrics['ndcg@5'];
    expect(ndcg('bpr')).toBeGreaterThan(ndcg('popularity'));
    expect(json.data.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await readFile(md, 'utf8')).toMatch(/\| bpr \(cpu-wasm-simd\) \|/);
    const [run] = await createJsonlRunStore(runs).list({ kind: 'eval' });
    expect(run!.metrics['bpr.ndcg@5']).toBeCloseTo(ndcg('bpr'), 12);
  });

  it('--on validation scores on a part of the training half; --export-split writes the split it used', async () => {
    const out = join(dir, 'eval-val.json');
    const split = join(dir, 'split');
    const cap = captureStdout();
    const code = await evalCommand.run(['interactions', '--interactions', data, '--format', 'lastfm', '--k', '5', '--factors', '8', '--epochs', '5', '--threads', '1', '--backend', 'cpu',
      '--on', 'validation', '--export-split', split, '--out', out, '--runs', runs], ctx);
    cap.restore();
    expect(code).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8'));
    const rows = async (name: string): Promise<string[]> => (await readFile(join(split, `${name}.tsv`), 'utf8')).trim().split('\n');
    const [train, test, fit, validation] = await Promise.all(['train', 'test', 'fit', 'validation'].map(rows));
    const meta = JSON.parse(await readFile(join(split, 'split.json'), 'utf8'));
    expect(json.on).toBe('validation');
    // validation scores the training half's own split: its sizes are fit's and validation's, and test is left out
    expect(json.trainInteractions).toBe(fit!.length);
    expect(json.testInteractions).toBe(validation!.length);
    expect(new Set([...fit!, ...validation!])).toEqual(new Set(train));
    expect(train!.length + test!.length).toBe(meta.nnz.train + meta.nnz.test);
    expect(test!.some((r) => train!.includes(r))).toBe(false);
    expect(meta).toMatchObject({ splitSeed: 42, validationSeed: 43, users: 40 });
    await expect(evalCommand.run(['interactions', '--interactions', data, '--format', 'lastfm', '--on', 'nope'], ctx)).rejects.toThrow(UsageError);
  });

  it('rejects unknown protocols and bad flags; a missing file exits 1', async () => {
    await expect(evalCommand.run(['nope'], ctx)).rejects.toThrow(UsageError);
    await expect(evalCommand.run(['interactions', '--interactions', data, '--format', 'lastfm', '--holdout', '1'], ctx)).rejects.toThrow(/interactions: --holdout/);
    await expect(evalCommand.run(['interactions', '--interactions', join(dir, 'none'), '--format', 'lastfm'], ctx)).rejects.toThrow(/none: no such file/);
  });
});

describe('buddies runs', () => {
  it('lists, shows and compares recorded runs; an unknown id exits 1', async () => {
    const store = createJsonlRunStore(runs);
    const a = await store.record({ kind: 'train', startedAt: 'x', params: { factors: 32 }, metrics: { trainAuc: 0.8 }, dataHash: 'h' });
    const b = await store.record({ kind: 'train', startedAt: 'y', params: { factors: 64 }, metrics: { trainAuc: 0.9 }, dataHash: 'h' });
    const cap = captureStdout();
    expect(await runsCommand.run(['list', '--runs', runs, '--kind', 'train'], ctx)).toBe(0);
    expect(await runsCommand.run(['show', a.id, '--runs', runs], ctx)).toBe(0);
    expect(await runsCommand.run(['compare', a.id, b.id, '--runs', runs], ctx)).toBe(0);
    cap.restore();
    expect(cap.text()).toContain(a.id);
    expect(cap.text()).toMatch(/factors\s+32\s+64\s+\(\+32\)/);
    expect(cap.text()).toMatch(/trainAuc\s+0\.80000\s+0\.90000\s+\(\+0\.1/);
    expect(await runsCommand.run(['show', 'zzz', '--runs', runs], ctx)).toBe(1);
    await expect(runsCommand.run(['compare', a.id, '--runs', runs], ctx)).rejects.toThrow(UsageError);
  });
});

describe('buddies tune', () => {
  it('samples configurations inside the search space', () => {
    const rng = createRng(5);
    for (let t = 0; t < 50; t++) {
      const c = sampleConfig(rng);
      expect(SEARCH_SPACE.factors).toContain(c.factors);
      expect(c.learningRate).toBeGreaterThanOrEqual(SEARCH_SPACE.learningRate[0] * 0.999);
      expect(c.learningRate).toBeLessThanOrEqual(SEARCH_SPACE.learningRate[1] * 1.001);
      expect(c.regularization).toBeGreaterThanOrEqual(SEARCH_SPACE.regularization[0] * 0.999);
    }
  });

  it('runs trials, reports the best configuration and records it', async () => {
    const out = join(dir, 'tune.json');
    const cap = captureStdout();
    expect(await tuneCommand.run(['--interactions', data, '--format', 'lastfm', '--trials', '2', '--k', '5', '--out', out, '--runs', runs], ctx)).toBe(0);
    cap.restore();
    const json = JSON.parse(await readFile(out, 'utf8'));
    expect(json.trials).toHaveLength(2);
    const bestScore = Math.max(...json.trials.map((t: { validation: Record<string, number> }) => t.validation['ndcg@5']!));
    expect(json.trials.find((t: { params: unknown }) => JSON.stringify(t.params) === JSON.stringify(json.best)).validation['ndcg@5']).toBe(bestScore);
    expect(cap.text()).toMatch(/best: .*test ndcg@5: bpr/s);
    expect((await createJsonlRunStore(runs).list({ kind: 'tune' }))).toHaveLength(1);
  });
});
