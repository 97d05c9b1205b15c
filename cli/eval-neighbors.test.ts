import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createJsonlRunStore } from '../runs/index.js';
import { UsageError } from './command.js';
import { evalCommand } from './eval.js';

const ctx = { config: loadConfig({}), verbose: false };
let dir: string;
let data: string;

/** Two taste groups (parity of user and artist), Last.fm format, play counts varying. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-c-'));
  data = join(dir, 'user_artists.dat');
  const lines = ['userID\tartistID\tweight'];
  for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if ((u * 3 + i) % 4 !== 0) lines.push(`${u}\t${i}\t${1 + ((u * 7 + i * 13) % 50)}`);
  await writeFile(data, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buddies eval neighbors', () => {
  it('prints the table, writes JSON and Markdown, records the run', async () => {
    const out = join(dir, 'n.json');
    const md = join(dir, 'n.md');
    const runs = join(dir, 'runs.jsonl');
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await evalCommand.run(['neighbors', '--interactions', data, '--format', 'lastfm', '--k', '3,5', '--at', '5', '--dims', '8', '--min-count', '1', '--threads', '1', '--out', out, '--markdown', md, '--runs', runs], ctx);
    spy.mockRestore();
    err.mockRestore();
    expect(code).toBe(0);
    expect(text).toMatch(/taste pairing \(ppmi-svd, exact\)[\s\S]*cosine of log\(1\+count\) vectors[\s\S]*random users/);
    const json = JSON.parse(await readFile(out, 'utf8'));
    expect(json.rows).toHaveLength(6);
    expect(json.params).toMatchObject({ ks: [3, 5], at: 5, weighting: 'log1p', index: 'exact' });
    expect(await readFile(md, 'utf8')).toMatch(/\| neighbour-recall \| recall@5 \| ndcg@5 \|/);
    const [run] = await createJsonlRunStore(runs).list({ kind: 'eval' });
    expect(run!.metrics['taste.k5.ndcg@5']).toBeGreaterThan(run!.metrics['random.k5.ndcg@5']!);
  });

  it('rejects bad flags', async () => {
    await expect(evalCommand.run(['neighbors', '--interactions', data, '--format', 'lastfm', '--weighting', 'sqrt'], ctx)).rejects.toThrow(UsageError);
    await expect(evalCommand.run(['neighbors', '--interactions', data, '--format', 'lastfm', '--k', '0'], ctx)).rejects.toThrow(UsageError);
  });
});
