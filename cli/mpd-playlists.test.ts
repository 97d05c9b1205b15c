import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPipelinePlaylists } from './mpd-playlists.js';

let dir: string;
const slice = (pids: number[], prefix: string) => JSON.stringify({
  playlists: pids.map((pid) => ({ name: `p${pid}`, pid, num_followers: 0, num_tracks: 2, tracks: [0, 1].map((i) => ({ artist_name: 'a', track_name: 't', track_uri: `spotify:track:${prefix}${pid}x${i}` })) })),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mpd-playlists-'));
  // two slices that share pid 1 (as the shared MPD sample shares 27 pids), each time a different playlist
  await writeFile(join(dir, 'mpd.slice.0-999.json'), slice([0, 1], 'a'));
  await writeFile(join(dir, 'mpd.slice.1000-1999.json'), slice([1, 2], 'b'));
  await mkdir(join(dir, 'empty'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('readPipelinePlaylists', () => {
  it('keeps every playlist, renames a repeated pid and says so', async () => {
    const lines: string[] = [];
    const playlists = await readPipelinePlaylists(dir, (l) => lines.push(l));
    expect(playlists.map((p) => p.id).sort()).toEqual(['0', '1', '1~2', '2']);
    const tracks = new Map(playlists.map((p) => [p.id, p.tracks[0]]));
    expect(new Set([tracks.get('1'), tracks.get('1~2')])).toEqual(new Set(['spotify:track:a1x0', 'spotify:track:b1x0']));
    expect(lines[0]).toMatch(/^4 playlists from 2 files \(0 rejected records; 1 repeated pids renamed PID~2\)$/);
  });

  it('a folder without playlists is an input error naming the flag', async () => {
    await expect(readPipelinePlaylists(join(dir, 'empty'), () => {})).rejects.toThrow(/--playlists .*empty: no MPD playlists found/);
  });
});
