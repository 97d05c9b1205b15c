import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/index.js';
import { evalMpdCommand } from './eval-mpd.js';

const ctx = { config: loadConfig({}), verbose: false };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-mpd-'));
  // A reduced-schema MPD slice: 40 playlists of 12 tracks over 2 genres.
  const playlists = Array.from({ length: 40 }, (_, pid) => ({
    name: `p${pid}`, pid, num_followers: pid, num_tracks: 12,
    tracks: Array.from({ length: 12 }, (_, i) => ({ artist_name: 'a', track_name: 't', track_uri: `spotify:track:g${pid % 2}x${(pid * 7 + i * 3) % 30}` })),
  }));
  await writeFile(join(dir, 'mpd.slice.0-39.json'), JSON.stringify({ info: { slice: '0-39' }, playlists }));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('buddies eval mpd --export-split', () => {
  it('writes the test and validation splits it scores, each with the IDF-overlap metrics of the run', async () => {
    const split = join(dir, 'split');
    const out = join(dir, 'eval.json');
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const mute = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const run = (on: string) => evalMpdCommand.run(['--playlists', dir, '--queries', '6', '--min-tracks', '8', '--dims', '4', '--buddies', '10', '--methods', 'ppmi-svd',
      '--no-ablations', '--no-bpr', '--on', on, '--export-split', split, '--out', out, '--runs', join(dir, 'runs.jsonl')], ctx);
    try {
      for (const on of ['test', 'validation'] as const) {
        expect(await run(on)).toBe(0);
        const result = JSON.parse(await readFile(out, 'utf8'));
        const exported = JSON.parse(await readFile(join(split, `${on}.json`), 'utf8'));
        expect(exported).toMatchObject({ protocol: 'mpd-a', on, minTracks: 8, k: 10 });
        // the split the run scored: same corpus size, same queries, and the IDF row's metrics to the last digit
        expect(exported.corpus).toHaveLength(result.corpus.playlists);
        expect(exported.queries).toHaveLength(6);
        expect(exported.idfOverlap).toEqual(result.rows.find((r: { method: string }) => r.method === 'idf-overlap baseline').metrics);
        for (const q of exported.queries) {
          expect(q.known.length + q.hidden.length).toBeGreaterThanOrEqual(8);
          expect(exported.corpus.some((p: { id: string }) => p.id === q.playlist)).toBe(false);
        }
      }
      const [test, validation] = await Promise.all(['test', 'validation'].map(async (n) => JSON.parse(await readFile(join(split, `${n}.json`), 'utf8'))));
      const testQueries = new Set(test.queries.map((q: { playlist: string }) => q.playlist));
      expect(validation.queries.some((q: { playlist: string }) => testQueries.has(q.playlist))).toBe(false);
      expect(validation.seed).toBe(test.seed + 1);
    } finally {
      quiet.mockRestore();
      mute.mockRestore();
    }
  });

  it('says which flag to change when the split folder cannot be made', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(evalMpdCommand.run(['--playlists', dir, '--export-split', join(file, 'sub')], ctx)).rejects.toThrow(/--export-split/);
  });
});
