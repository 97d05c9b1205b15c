import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { offlineNeighborsCommand } from './offline-neighbors.js';
import { offlineRecommendPlaylistsCommand } from './offline-recommend-playlists.js';
import { loadConfig } from '../config/index.js';

const ctx = { config: loadConfig({}), verbose: false };

let dir: string;
const cmd = offlineRecommendPlaylistsCommand;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offline-cmd-'));
  // A reduced-schema MPD slice: 30 playlists over 2 genres.
  const playlists = Array.from({ length: 30 }, (_, pid) => ({
    name: `p${pid}`, pid, num_followers: pid, num_tracks: 10,
    tracks: Array.from({ length: 10 }, (_, i) => ({
      artist_name: 'a', track_name: 't', track_uri: `spotify:track:g${pid % 2}x${(pid * 7 + i * 3) % 20}`,
    })),
  }));
  await writeFile(join(dir, 'mpd.slice.0-29.json'), JSON.stringify({ info: { slice: '0-29' }, playlists }));
  await writeFile(join(dir, 'queries.jsonl'), [
    JSON.stringify({ user: 'alice', tracks: ['spotify:track:g0x1', 'spotify:track:g0x4', 'spotify:track:g0x9'], exclude: [0, 2] }),
    JSON.stringify({ user: 'bob', tracks: [], exclude: [] }),
  ].join('\n'));
  await writeFile(join(dir, 'user_artists.dat'), 'userID\tartistID\tweight\n' + Array.from({ length: 60 }, (_, i) => `${i % 6}\t${(i % 2) * 100 + (i % 5)}\t${i + 1}`).join('\n') + '\n');
});
afterAll(async () => rm(dir, { recursive: true }));

describe('buddies offline recommend-playlists', () => {
  it('writes K playlist ids per query user, none excluded', async () => {
    const out = join(dir, 'recs.jsonl');
    const code = await cmd.run(['--playlists', dir, '--queries', join(dir, 'queries.jsonl'), '--k', '4', '--out', out, '--dims', '4', '--buddies', '10'], ctx);
    expect(code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { user: string; playlists: number[] });
    expect(lines.map((l) => l.user)).toEqual(['alice', 'bob']);
    for (const l of lines) {
      expect(l.playlists).toHaveLength(4);
      expect(new Set(l.playlists).size).toBe(4);
      for (const p of l.playlists) expect(typeof p).toBe('number');
    }
    expect(lines[0]!.playlists).not.toContain(0);
    expect(lines[0]!.playlists).not.toContain(2);
    // alice listens to genre 0 (even pids); bob is cold and gets the most followed playlists.
    expect(lines[0]!.playlists.every((p) => p % 2 === 0)).toBe(true);
    expect(lines[1]!.playlists).toEqual([29, 28, 27, 26]);
  });

  it('rejects bad flags with a UsageError and missing inputs with exit 1', async () => {
    await expect(cmd.run(['--playlists', dir, '--queries', 'q', '--out', 'o'], ctx)).rejects.toThrow(/--k is required/);
    await expect(cmd.run(['--playlists', dir, '--queries', 'q', '--k', 'x', '--out', 'o'], ctx)).rejects.toThrow(UsageError);
    await expect(cmd.run(['--bogus'], ctx)).rejects.toThrow(UsageError);
    await expect(cmd.run(['--playlists', join(dir, 'nope'), '--queries', join(dir, 'queries.jsonl'), '--k', '2', '--out', join(dir, 'o')], ctx)).rejects.toThrow(/--playlists .*no such directory/);
    await expect(cmd.run(['--playlists', dir, '--queries', join(dir, 'nope.jsonl'), '--k', '2', '--out', join(dir, 'o')], ctx)).rejects.toThrow(/--queries .*ENOENT/);
    await writeFile(join(dir, 'bad.jsonl'), '{"user": "x", "tracks": "nope"}\n');
    await expect(cmd.run(['--playlists', dir, '--queries', join(dir, 'bad.jsonl'), '--k', '2', '--out', join(dir, 'o')], ctx)).rejects.toThrow(/"tracks" must be an array/);
  });
});

describe('buddies offline neighbors', () => {
  it('writes K neighbours for every user, never the user', async () => {
    const out = join(dir, 'nb.jsonl');
    const code = await offlineNeighborsCommand.run(['--interactions', join(dir, 'user_artists.dat'), '--format', 'lastfm', '--k', '2', '--out', out, '--dims', '4', '--min-count', '1'], ctx);
    expect(code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { user: string; neighbors: string[] });
    expect(lines.map((l) => l.user).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const l of lines) {
      expect(l.neighbors).toHaveLength(2);
      expect(l.neighbors).not.toContain(l.user);
    }
  });

  it('rejects a bad format and a missing file', async () => {
    await expect(offlineNeighborsCommand.run(['--interactions', 'x', '--format', 'csv', '--k', '2', '--out', 'o'], ctx)).rejects.toThrow(UsageError);
    await expect(offlineNeighborsCommand.run(['--interactions', join(dir, 'nope'), '--format', 'lastfm', '--k', '2', '--out', join(dir, 'o')], ctx)).rejects.toThrow(/nope: no such file/);
  });
});
