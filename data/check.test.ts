import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetStats, findDatasets } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'buddies-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const t = (n: number) => ({ track_uri: `spotify:track:t${n}`, track_name: `T${n}`, artist_name: `A${n % 2}` });

describe('findDatasets + datasetStats', () => {
  it('finds each kind by name, walks folders, and counts', async () => {
    await mkdir(join(dir, 'mpd'));
    await mkdir(join(dir, 'lastfm'));
    await writeFile(join(dir, 'mpd', 'mpd.slice.0-999.json'), JSON.stringify({ playlists: [{ pid: 0, name: 'a', num_followers: 2, tracks: [t(1), t(2)] }, { name: 'bad' }] }));
    await writeFile(join(dir, 'mpd', 'mpd.slice.1000-1999.json.gz'), gzipSync(JSON.stringify({ playlists: [{ pid: 1000, name: 'b', num_followers: 1, tracks: [t(2), t(3)] }] })));
    await writeFile(join(dir, 'lastfm', 'user_artists.dat'), 'userID\tartistID\tweight\n1\t5\t10\n2\t5\t3\n');
    await writeFile(join(dir, 'lastfm', 'artists.dat'), 'id\tname\n');
    await writeFile(join(dir, 'triplets.tsv'), 'u\ts\t2\n');
    const found = await findDatasets([dir]);
    expect(found.datasets.map((d) => [d.kind, d.files.length])).toEqual([
      ['lastfm', 1],
      ['mpd', 2],
      ['triplets', 1],
    ]);
    expect(found.skipped).toEqual([join(dir, 'lastfm', 'artists.dat')]);
    const [lastfm, mpd] = await Promise.all(found.datasets.slice(0, 2).map((d) => datasetStats(d)));
    expect(mpd).toMatchObject({ playlists: 2, tracks: 4, uniqueTracks: 3, uniqueArtists: 2, followers: 3 });
    expect(mpd?.report.rejectedCount).toBe(1);
    expect(lastfm).toMatchObject({ rows: 2, users: 2, items: 1, totalWeight: 13 });
  });
});
