import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBpr } from '../models/bpr/index.js';
import { createJsonlRunStore } from '../runs/index.js';
import { UsageError } from './command.js';
import { offlineCommand } from './offline.js';
import { loadConfig } from '../config/index.js';

const ctx = { config: loadConfig({}), verbose: false };

let dir: string;
let data: string;

/** Two taste groups in Last.fm format: users g0-*, items of parity 0; users g1-*, items of parity 1. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offline-bpr-'));
  data = join(dir, 'user_artists.dat');
  const lines = ['userID\tartistID\tweight'];
  for (let u = 0; u < 20; u++) for (let i = u % 2; i < 30; i += 2) if ((u + i) % 5 !== 0) lines.push(`${u}\t${100 + i}\t${1 + i}`);
  await writeFile(data, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const common = ['--format', 'lastfm', '--factors', '8', '--epochs', '40', '--threads', '1', '--lr', '0.1', '--backend', 'cpu'];

describe('buddies offline train-bpr', () => {
  it('saves a loadable model with a manifest and records the run', async () => {
    const out = join(dir, 'model');
    const runs = join(dir, 'runs.jsonl');
    expect(await offlineCommand.run(['train-bpr', '--interactions', data, ...common, '--out', out, '--runs', runs], ctx)).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'buddies-bpr', factors: 8, backend: 'cpu-wasm-simd', dataFormat: 'lastfm', numUsers: 20, numItems: 30 });
    expect(manifest.dataHash).toMatch(/^[0-9a-f]{16}$/);
    expect(manifest.metrics.trainAuc).toBeGreaterThan(0.5);
    expect(manifest.params.epochs).toBe(40);
    const model = await loadBpr(out);
    expect(model.model.users.ids).toContain('3');
    const [run] = await createJsonlRunStore(runs).list();
    expect(run).toMatchObject({ kind: 'train', dataHash: manifest.dataHash, backend: 'cpu-wasm-simd' });
    expect(run!.artifact).toBe(out);
  });

  it('a missing file exits 1; a bad format or flag is a usage error naming the subcommand', async () => {
    await expect(offlineCommand.run(['train-bpr', '--interactions', join(dir, 'nope'), ...common, '--out', join(dir, 'x')], ctx)).rejects.toThrow(/nope: no such file/);
    await expect(offlineCommand.run(['train-bpr', '--interactions', data, '--format', 'csv', '--out', join(dir, 'x')], ctx)).rejects.toThrow(/train-bpr: --format/);
    await expect(offlineCommand.run(['train-bpr', '--interactions', data, ...common, '--out', join(dir, 'x'), '--bogus'], ctx)).rejects.toThrow(UsageError);
    await expect(offlineCommand.run(['train-bpr', '--interactions', data, ...common], ctx)).rejects.toThrow(/--out is required/);
    await expect(offlineCommand.run(['nope'], ctx)).rejects.toThrow(/unknown subcommand/);
  });
});

describe('buddies offline recommend-items', () => {
  it('writes K unseen items per listed user, in the users file order; unknown users get popular items', async () => {
    const users = join(dir, 'users.txt');
    const out = join(dir, 'recs.jsonl');
    await writeFile(users, '4\n\n7\nstranger\n');
    expect(await offlineCommand.run(['recommend-items', '--interactions', data, ...common, '--users', users, '--k', '3', '--out', out], ctx)).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { user: string; items: string[] });
    expect(rows.map((r) => r.user)).toEqual(['4', '7', 'stranger']);
    const seen = new Map<string, Set<string>>();
    for (const l of (await readFile(data, 'utf8')).trim().split('\n').slice(1)) {
      const [u, i] = l.split('\t') as [string, string];
      seen.set(u, (seen.get(u) ?? new Set()).add(i));
    }
    for (const r of rows) {
      expect(r.items).toHaveLength(3);
      expect(new Set(r.items).size).toBe(3);
      for (const i of r.items) expect(seen.get(r.user)?.has(i) ?? false).toBe(false);
    }
    // the taste groups: user 4 (even) gets even items, user 7 odd ones
    for (const i of rows[0]!.items) expect(Number(i) % 2).toBe(0);
    for (const i of rows[1]!.items) expect(Number(i) % 2).toBe(1);
  });

  it('a missing users file exits 1', async () => {
    await expect(offlineCommand.run(['recommend-items', '--interactions', data, ...common, '--users', join(dir, 'none'), '--k', '3', '--out', join(dir, 'o')], ctx)).rejects.toThrow(/--users .*ENOENT/);
  });
});
