import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { ClickHouseClient } from '@clickhouse/client';
import { createLoadReport, listMpdSlices, readInteractions, readMpdSlice, resolveInteractionFile, type LoadReport } from '../data/index.js';
import type { FeedbackEvent, ListenEvent, PlaylistEvent, TypedProducer } from '../streams/index.js';
import { createPlaylistIdNamer } from '../models/pipeline/index.js';
import { interactionListens, mpdPlaylistEvents, trackRow } from './events.js';

export type ImportKind = 'mpd' | 'triplets' | 'lastfm';

/** Track ids remembered as already in the catalogue (about 100 MB at MPD's URI length). */
const MAX_REMEMBERED_TRACKS = 1_000_000;

export interface ImportOptions {
  readonly kind: ImportKind;
  /** MPD: a folder of slices (or one slice); triplets/lastfm: the file. */
  readonly path: string;
  readonly producer: TypedProducer;
  /** Where the catalogue (tracks) goes; none: events only. */
  readonly warehouse?: ClickHouseClient;
  /** Checkpoint file: what has been imported already. */
  readonly stateFile: string;
  /** Ignore the checkpoint and import everything again (the warehouse still counts each event once). */
  readonly restart?: boolean;
  /** Cap on plays generated per Taste Profile / Last.fm row (default 20). */
  readonly maxPlaysPerRow?: number;
  /** Records per Kafka send (default 5000). */
  readonly chunk?: number;
  readonly onProgress?: (p: ImportProgress) => void;
}

export interface ImportCounts {
  playlists: number;
  listens: number;
  follows: number;
  tracks: number;
  rows: number;
}

export interface ImportProgress {
  readonly unitsDone: number;
  readonly unitsTotal: number;
  readonly unit: 'slices' | 'bytes';
  readonly counts: Readonly<ImportCounts>;
  readonly events: number;
  readonly seconds: number;
}

export interface ImportSummary {
  readonly counts: ImportCounts;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Slices or rows skipped because the checkpoint says they were imported before. */
  readonly skipped: number;
  /** MPD: playlists whose pid an earlier playlist already had, imported as `PID~2`, `PID~3`… (this run's slices). */
  readonly renamed: number;
  readonly report: LoadReport;
}

interface Checkpoint {
  kind: ImportKind;
  source: string;
  /** MPD: slice files fully imported. */
  doneFiles: string[];
  /** triplets/lastfm: rows fully imported (the first N accepted rows). */
  doneRows: number;
  complete: boolean;
}

function loadCheckpoint(file: string, kind: ImportKind, source: string, restart: boolean): Checkpoint {
  const fresh: Checkpoint = { kind, source, doneFiles: [], doneRows: 0, complete: false };
  if (restart || !existsSync(file)) return fresh;
  const cp = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  return cp.kind === kind && cp.source === source ? cp : fresh;
}

function saveCheckpoint(file: string, cp: Checkpoint): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(cp));
  renameSync(`${file}.tmp`, file); // atomic: a crash leaves the old or the new checkpoint, never half
}

/** Reads `A<TAB>B` lines; missing file: empty. */
async function readPairs(path: string, each: (a: string, b: string) => void): Promise<void> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    const tab = line.indexOf('\t');
    if (tab > 0) each(line.slice(0, tab), line.slice(tab + 1).trim());
  }
}

/** The default checkpoint file for a source, under the stack folder. */
export function defaultStateFile(stateDir: string, kind: ImportKind, path: string): string {
  const safe = resolve(path).replace(/[^A-Za-z0-9._-]+/g, '_').slice(-120);
  return join(stateDir, `${kind}-${safe}.json`);
}

/**
 * Loads offline data into the live system: playlists as playlist events, plays as listen events, follows
 * as feedback events (Kafka), the track catalogue into ClickHouse. Resumable (a checkpoint after each MPD
 * slice or each chunk of rows) and idempotent (event ids and times come from the data).
 */
export async function importDataset(opts: ImportOptions): Promise<ImportSummary> {
  const source = resolve(opts.kind === 'mpd' ? opts.path : await resolveInteractionFile(opts.path, opts.kind));
  const chunk = opts.chunk ?? 5000;
  const cp = loadCheckpoint(opts.stateFile, opts.kind, source, opts.restart ?? false);
  const counts: ImportCounts = { playlists: 0, listens: 0, follows: 0, tracks: 0, rows: 0 };
  const report = createLoadReport();
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const events = () => counts.playlists + counts.listens + counts.follows;

  let listens: ListenEvent[] = [];
  let playlists: PlaylistEvent[] = [];
  let follows: FeedbackEvent[] = [];
  const flush = async () => {
    if (playlists.length) await opts.producer.send('playlists', playlists.map((v) => ({ key: v.playlistId, value: v })));
    if (listens.length) await opts.producer.send('listens', listens.map((v) => ({ key: v.userId, value: v })));
    if (follows.length) await opts.producer.send('feedback', follows.map((v) => ({ key: v.userId, value: v })));
    counts.playlists += playlists.length;
    counts.listens += listens.length;
    counts.follows += follows.length;
    playlists = [];
    listens = [];
    follows = [];
  };
  const pending = () => playlists.length + listens.length + follows.length;

  let skipped = 0;
  let renamed = 0;
  if (opts.kind === 'mpd') {
    const isDir = statSync(source).isDirectory();
    const slices = isDir ? await listMpdSlices(source) : [source];
    const root = isDir ? source : dirname(source);
    // A generated world names owners and followers; a real MPD slice has neither (each playlist is its own user's).
    const owners = new Map<number, string>();
    await readPairs(join(root, 'owners.tsv'), (pid, user) => owners.set(Number(pid), user));
    const followersOf = new Map<number, string[]>();
    await readPairs(join(root, 'follows.tsv'), (user, pid) => {
      const list = followersOf.get(Number(pid)) ?? [];
      list.push(user);
      followersOf.set(Number(pid), list);
    });
    const done = new Set(cp.doneFiles);
    // Ids follow the slices' order: a pid met again is renamed PID~2 (createPlaylistIdNamer, as the offline commands
    // do). On resume the pids of the slices already imported are read again (not their events), so each playlist
    // keeps the id it had.
    const ids = createPlaylistIdNamer();
    const nameOf = (file: string) => file.slice(root.length + 1);
    const isDone = (file: string) => done.has(nameOf(file));
    if (!slices.every(isDone)) {
      const ignored = createLoadReport();
      for (const file of slices.filter(isDone)) for await (const p of readMpdSlice(file, ignored)) ids.next(String(p.pid));
    }
    const renamedBefore = ids.renamed;
    // Catalogue rows already written by this run: popular tracks stand in most slices. Bounded (cleared when
    // full): a track written again only costs a row that ReplacingMergeTree folds away.
    const written = new Set<string>();
    for (const [i, file] of slices.entries()) {
      const name = nameOf(file);
      if (done.has(name)) {
        skipped++;
        continue;
      }
      const tracks = new Map<string, Record<string, string | number>>();
      for await (const p of readMpdSlice(file, report)) {
        const ev = mpdPlaylistEvents(p, owners.size ? owners : undefined, followersOf.get(p.pid), ids.next(String(p.pid)));
        playlists.push(ev.playlist);
        listens.push(...ev.listens);
        follows.push(...ev.follows);
        for (const t of p.tracks) if (!written.has(t.track_uri) && !tracks.has(t.track_uri)) tracks.set(t.track_uri, trackRow(t));
        if (pending() >= chunk) await flush();
      }
      await flush();
      if (opts.warehouse && tracks.size > 0) {
        await opts.warehouse.insert({ table: 'tracks', values: [...tracks.values()], format: 'JSONEachRow' });
        counts.tracks += tracks.size;
        if (written.size + tracks.size > MAX_REMEMBERED_TRACKS) written.clear();
        for (const id of tracks.keys()) written.add(id);
      }
      cp.doneFiles.push(name);
      saveCheckpoint(opts.stateFile, cp);
      opts.onProgress?.({ unitsDone: i + 1, unitsTotal: slices.length, unit: 'slices', counts, events: events(), seconds: seconds() });
    }
    renamed = ids.renamed - renamedBefore;
  } else {
    const total = statSync(source).size;
    let accepted = 0;
    let lastReport = 0;
    for await (const row of readInteractions(source, opts.kind, report)) {
      accepted++;
      if (accepted <= cp.doneRows) {
        skipped++;
        continue;
      }
      counts.rows++;
      listens.push(...interactionListens(row, opts.kind, opts.maxPlaysPerRow ?? 20));
      if (pending() >= chunk) {
        await flush();
        cp.doneRows = accepted;
        saveCheckpoint(opts.stateFile, cp);
        if (Date.now() - lastReport > 1000) {
          lastReport = Date.now();
          opts.onProgress?.({ unitsDone: Math.min(report.bytesRead, total), unitsTotal: total, unit: 'bytes', counts, events: events(), seconds: seconds() });
        }
      }
    }
    await flush();
    cp.doneRows = accepted;
    opts.onProgress?.({ unitsDone: total, unitsTotal: total, unit: 'bytes', counts, events: events(), seconds: seconds() });
  }
  cp.complete = true;
  saveCheckpoint(opts.stateFile, cp);
  const secs = seconds();
  return { counts, events: events(), seconds: secs, eventsPerSecond: secs > 0 ? events() / secs : 0, skipped, renamed, report };
}
