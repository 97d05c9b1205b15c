import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoadReport, readMpdDir, readMpdSlice, type LoadReport, type MpdPlaylist } from './index.js';
import { compareSliceNames, playlistLines } from './mpd.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'buddies-mpd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const uri = (kind: string, n: number) => `spotify:${kind}:${String(n).padStart(22, '0')}`;

function fullTrack(pos: number) {
  return {
    pos,
    artist_name: `Artist ${pos}`,
    track_uri: uri('track', pos),
    artist_uri: uri('artist', pos),
    track_name: `Track ${pos}`,
    album_uri: uri('album', pos),
    duration_ms: 200000 + pos,
    album_name: `Album ${pos}`,
  };
}

function slice(playlists: unknown[]): string {
  // the MPD's own layout: indented, one key per line
  return JSON.stringify({ info: { slice: '0-999', version: 'v1' }, playlists }, null, 4);
}

async function collect(path: string, report: LoadReport, dirMode = false): Promise<MpdPlaylist[]> {
  const out: MpdPlaylist[] = [];
  for await (const p of dirMode ? readMpdDir(path, report) : readMpdSlice(path, report)) out.push(p);
  return out;
}

describe('readMpdSlice', () => {
  it('reads the full schema, turning collaborative "false" into a boolean', async () => {
    const f = join(dir, 'full.json');
    await writeFile(f, slice([{ name: 'Throwbacks', collaborative: 'false', pid: 7, modified_at: 1493424000, num_tracks: 2, num_followers: 3, tracks: [fullTrack(0), fullTrack(1)] }]));
    const report = createLoadReport();
    const [p, ...rest] = await collect(f, report);
    expect(rest).toHaveLength(0);
    expect(p).toEqual({ pid: 7, name: 'Throwbacks', collaborative: false, modified_at: 1493424000, num_followers: 3, tracks: [fullTrack(0), fullTrack(1)] });
    expect(report).toMatchObject({ files: 1, records: 1, rejectedCount: 0 });
  });

  it('reads the reduced schema from gzip, filling pos from the array order', async () => {
    const f = join(dir, 'reduced.json.gz');
    const tracks = [5, 9, 2].map((n) => ({ artist_name: `A${n}`, track_uri: uri('track', n), track_name: `T${n}` }));
    await writeFile(f, gzipSync(slice([{ name: 'LOCO', pid: 3620, num_tracks: 3, num_followers: 18, tracks }])));
    const report = createLoadReport();
    const [p] = await collect(f, report);
    expect(p?.tracks.map((t) => [t.pos, t.track_uri])).toEqual([
      [0, uri('track', 5)],
      [1, uri('track', 9)],
      [2, uri('track', 2)],
    ]);
    expect(p?.tracks[0]).not.toHaveProperty('album_uri');
    expect(report.records).toBe(1);
  });

  it('skips and reports malformed playlists with their line, and keeps the good ones', async () => {
    const f = join(dir, 'bad.json');
    const good = (pid: number) => ({ name: `p${pid}`, pid, num_followers: 1, tracks: [fullTrack(0)] });
    const text = slice([
      good(0),
      { name: 'no pid', num_followers: 1, tracks: [] },
      { name: 'tracks', pid: 2, num_followers: 1, tracks: 'nope' },
      good(3),
      { name: 'uri', pid: 4, num_followers: 1, tracks: [{ ...fullTrack(0), track_uri: 'spotify:album:x' }] },
      { name: 'collab', pid: 5, num_followers: 1, collaborative: 'maybe', tracks: [] },
    ]);
    await writeFile(f, text);
    const report = createLoadReport();
    const got = await collect(f, report);
    expect(got.map((p) => p.pid)).toEqual([0, 3]);
    expect(report.records).toBe(2);
    expect(report.rejectedCount).toBe(4);
    const lines = text.split('\n');
    const reasons = report.rejected.map((r) => r.reason);
    expect(reasons[0]).toMatch(/missing pid/);
    expect(reasons[1]).toMatch(/tracks is not an array/);
    expect(reasons[2]).toMatch(/bad track_uri/);
    expect(reasons[3]).toMatch(/bad collaborative/);
    // each reported line is the opening brace of that playlist, followed by its own name
    for (const [r, name] of report.rejected.map((r, i) => [r, ['no pid', 'tracks', 'uri', 'collab'][i]] as const)) {
      expect(r.file).toBe(f);
      expect(lines[r.line - 1]?.trim()).toBe('{');
      expect(lines[r.line]).toContain(`"name": "${name}"`);
    }
  });

  it('reports a file that is not JSON, or not a slice, without throwing', async () => {
    const a = join(dir, 'mpd.slice.0-999.json');
    const b = join(dir, 'mpd.slice.1000-1999.json');
    await writeFile(a, '{\n  "playlists": [\n  oops\n]}');
    await writeFile(b, '{"info": {}}');
    const report = createLoadReport();
    expect(await collect(a, report)).toEqual([]);
    expect(await collect(b, report)).toEqual([]);
    expect(report.rejectedCount).toBe(2);
    expect(report.rejected[0]).toMatchObject({ file: a, reason: expect.stringMatching(/^not JSON/) });
    expect(report.rejected[1]).toMatchObject({ file: b, reason: expect.stringMatching(/no "playlists" array/) });
    expect(report.files).toBe(2);
  });

  it('counts every rejection but lists at most 1000', async () => {
    const f = join(dir, 'many.json');
    await writeFile(f, JSON.stringify({ playlists: Array.from({ length: 1500 }, () => ({ name: 'x' })) }));
    const report = createLoadReport();
    await collect(f, report);
    expect(report.rejectedCount).toBe(1500);
    expect(report.rejected).toHaveLength(1000);
  });
});

describe('readMpdDir', () => {
  it('reads every slice in natural order, gz and plain, and ignores other files', async () => {
    const d = await mkdtemp(join(dir, 'dir-'));
    const pl = (pid: number) => ({ name: `p${pid}`, pid, num_followers: 1, tracks: [fullTrack(0)] });
    await writeFile(join(d, 'mpd.slice.10000-10999.json.gz'), gzipSync(slice([pl(10000)])));
    await writeFile(join(d, 'mpd.slice.0-999.json'), slice([pl(0), pl(1)]));
    await writeFile(join(d, 'mpd.slice.2000-2999.json'), 'garbage');
    await writeFile(join(d, 'README.md'), 'not a slice');
    const report = createLoadReport();
    const got = await collect(d, report, true);
    expect(got.map((p) => p.pid)).toEqual([0, 1, 10000]);
    expect(report).toMatchObject({ files: 3, records: 3, rejectedCount: 1 });
    expect(report.rejected[0]?.file).toBe(join(d, 'mpd.slice.2000-2999.json'));
  });

  it('accepts a file path as a single slice', async () => {
    const f = join(dir, 'one.json');
    await writeFile(f, slice([{ name: 'a', pid: 1, num_followers: 1, tracks: [] }]));
    const report = createLoadReport();
    expect((await collect(f, report, true)).map((p) => p.pid)).toEqual([1]);
  });
});

describe('helpers', () => {
  it('compareSliceNames orders by first pid', () => {
    const names = ['mpd.slice.1000-1999.json', 'mpd.slice.999000-999999.json.gz', 'mpd.slice.0-999.first29.json', 'mpd.slice.101000-101999.json.gz'];
    expect([...names].sort(compareSliceNames)).toEqual([
      'mpd.slice.0-999.first29.json',
      'mpd.slice.1000-1999.json',
      'mpd.slice.101000-101999.json.gz',
      'mpd.slice.999000-999999.json.gz',
    ]);
  });

  it('playlistLines finds elements of the playlists array, ignoring brackets in strings', () => {
    const text = '{"info": {"a": [1, {"b": 2}]},\n"playlists": [\n{"name": "[{"},\n\n {"name": "x,}"}, {"n": 1}]}';
    expect(playlistLines(text)).toEqual([3, 5, 5]);
  });
});
