import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readInteractions, type InteractionFormat } from './interactions.js';
import { MPD_SLICE_NAME, listMpdSlices, readMpdSlice } from './mpd.js';
import { createLoadReport, type LoadReport } from './types.js';

export type DatasetKind = 'mpd' | InteractionFormat;

/** One loadable dataset found under a path: an MPD folder (or slice), or an interaction file. */
export interface Dataset {
  readonly kind: DatasetKind;
  /** For `mpd`, the slice files in order; otherwise the one file. */
  readonly files: readonly string[];
  /** Folder or file the user would recognise it by. */
  readonly label: string;
}

/** What {@link findDatasets} found: datasets to load, and files it did not recognise. */
export interface Found {
  readonly datasets: Dataset[];
  readonly skipped: string[];
}

const TRIPLETS_NAME = /triplets.*\.(tsv|txt)(\.gz)?$/i;
const LASTFM_NAME = /^user_artists\.dat(\.gz)?$/i;

/**
 * Recognises datasets by file name: `mpd.slice.*.json[.gz]` (grouped per folder), `user_artists.dat` (Last.fm),
 * `*triplets*.tsv|txt[.gz]` (Taste Profile). Folders are walked recursively. With `force`, every file given
 * (or found) is read in that format instead.
 */
export async function findDatasets(paths: readonly string[], force?: DatasetKind): Promise<Found> {
  const found: Found = { datasets: [], skipped: [] };
  const visit = async (path: string): Promise<void> => {
    const s = await stat(path);
    if (!s.isDirectory()) {
      const kind = force ?? kindOfFile(basename(path));
      if (kind) found.datasets.push({ kind, files: [path], label: path });
      else found.skipped.push(path);
      return;
    }
    const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const slices = force === undefined || force === 'mpd' ? await listMpdSlices(path) : [];
    if (slices.length > 0) found.datasets.push({ kind: 'mpd', files: slices, label: path });
    for (const e of entries) {
      const full = join(path, e.name);
      if (e.isDirectory()) await visit(full);
      else if (MPD_SLICE_NAME.test(e.name) && slices.length > 0) continue;
      else {
        const kind = force ?? kindOfFile(e.name);
        if (kind) found.datasets.push({ kind, files: [full], label: full });
        else found.skipped.push(full);
      }
    }
  };
  for (const p of paths) await visit(p);
  return found;
}

function kindOfFile(name: string): DatasetKind | undefined {
  if (MPD_SLICE_NAME.test(name)) return 'mpd';
  if (LASTFM_NAME.test(name)) return 'lastfm';
  if (TRIPLETS_NAME.test(name)) return 'triplets';
  return undefined;
}

/** Counts of one MPD dataset. */
export interface MpdStats {
  readonly kind: 'mpd';
  playlists: number;
  /** Playlist entries (a track in two playlists counts twice). */
  tracks: number;
  uniqueTracks: number;
  uniqueArtists: number;
  /** Playlists whose tracks carry the full schema (album_uri, duration_ms…). */
  fullSchemaPlaylists: number;
  followers: number;
  readonly report: LoadReport;
}

/** Counts of one interaction dataset. */
export interface InteractionStats {
  readonly kind: InteractionFormat;
  rows: number;
  users: number;
  items: number;
  totalWeight: number;
  readonly report: LoadReport;
}

export type DatasetStats = MpdStats | InteractionStats;

/** Called after each file (MPD) or every 100k rows; `done`/`total` count files. */
export type ProgressFn = (dataset: Dataset, done: number, total: number, records: number) => void;

/** Loads a dataset completely, keeping only the sets needed for unique counts. */
export async function datasetStats(ds: Dataset, progress?: ProgressFn): Promise<DatasetStats> {
  const report = createLoadReport();
  if (ds.kind === 'mpd') {
    const stats: MpdStats = { kind: 'mpd', playlists: 0, tracks: 0, uniqueTracks: 0, uniqueArtists: 0, fullSchemaPlaylists: 0, followers: 0, report };
    const tracks = new Set<string>();
    const artists = new Set<string>();
    let done = 0;
    for (const f of ds.files) {
      for await (const p of readMpdSlice(f, report)) {
        stats.playlists += 1;
        stats.tracks += p.tracks.length;
        stats.followers += p.num_followers;
        if (p.tracks.length > 0 && p.tracks.every((t) => t.album_uri !== undefined && t.duration_ms !== undefined)) stats.fullSchemaPlaylists += 1;
        for (const t of p.tracks) {
          tracks.add(t.track_uri);
          artists.add(t.artist_uri ?? `name:${t.artist_name}`);
        }
      }
      progress?.(ds, ++done, ds.files.length, report.records);
    }
    stats.uniqueTracks = tracks.size;
    stats.uniqueArtists = artists.size;
    return stats;
  }
  const stats: InteractionStats = { kind: ds.kind, rows: 0, users: 0, items: 0, totalWeight: 0, report };
  const users = new Set<string>();
  const items = new Set<string>();
  const file = ds.files[0] ?? ds.label;
  for await (const row of readInteractions(file, ds.kind, report)) {
    stats.rows += 1;
    stats.totalWeight += row.weight;
    users.add(row.user);
    items.add(row.item);
    if (stats.rows % 100_000 === 0) progress?.(ds, 0, 1, stats.rows);
  }
  progress?.(ds, 1, 1, stats.rows);
  stats.users = users.size;
  stats.items = items.size;
  return stats;
}
