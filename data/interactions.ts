import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildInteractionMatrix, type InteractionMatrix } from '../models/interactions.js';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createLoadReport, DatasetError, reject, type Interaction, type LoadReport } from './types.js';

/** `lastfm`: hetrec2011 `user_artists.dat` (header `userID\tartistID\tweight`); `triplets`: Taste Profile `user\tsong\tplay_count`, no header. */
export type InteractionFormat = 'lastfm' | 'triplets';

export const INTERACTION_FORMATS: readonly InteractionFormat[] = ['lastfm', 'triplets'];

const LASTFM_HEADER = /^userID\tartistID\tweight$/i;

/** Parses one data line; returns the interaction or the reason it is malformed. Pure. */
export function parseInteractionLine(line: string): Interaction | string {
  const fields = line.split('\t');
  if (fields.length !== 3) return `expected 3 tab-separated fields, got ${fields.length}`;
  const [user, item, w] = fields as [string, string, string];
  if (user === '') return 'empty user';
  if (item === '') return 'empty item';
  const weight = Number(w);
  if (w.trim() === '' || !Number.isFinite(weight) || weight <= 0) return `bad weight ${JSON.stringify(w)}`;
  return { user, item, weight };
}

async function openLines(path: string, report: LoadReport): Promise<AsyncIterable<string>> {
  const file = createReadStream(path);
  file.on('data', (chunk) => { report.bytesRead += chunk.length; });
  await new Promise<void>((resolve, reject_) => {
    file.once('open', () => resolve());
    file.once('error', reject_);
  });
  let input: Readable = file;
  if (path.endsWith('.gz')) {
    const gz = createGunzip();
    file.on('error', (e) => gz.destroy(e));
    input = file.pipe(gz);
  }
  return createInterface({ input, crlfDelay: Infinity });
}

/** The file a dataset's folder holds for a format (Last.fm hetrec2011 keeps its plays in `user_artists.dat`). */
const FILE_IN_FOLDER: Readonly<Record<InteractionFormat, string | undefined>> = { lastfm: 'user_artists.dat', triplets: undefined };

/**
 * The interactions file that `path` names: the file itself, or for Last.fm the dataset's folder (its
 * `user_artists.dat`). Throws {@link DatasetError} for a missing path or a folder without that file.
 */
export async function resolveInteractionFile(path: string, format: InteractionFormat): Promise<string> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new DatasetError(`${path}: no such file`);
  if (st.isFile()) return path;
  const inside = FILE_IN_FOLDER[format];
  if (st.isDirectory() && inside) {
    const file = join(path, inside);
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
    throw new DatasetError(`${path} is a folder without ${inside}: give the ${format} interactions file`);
  }
  throw new DatasetError(`${path} is not a file: give the ${format} interactions file`);
}

/**
 * Reads an interactions file (or a Last.fm dataset folder) into a CSR matrix, logging the first rejected rows.
 * Throws {@link DatasetError} when it is missing, unreadable or holds no valid interaction.
 */
export async function loadInteractionMatrix(path: string, format: InteractionFormat, log: (line: string) => void): Promise<InteractionMatrix> {
  const file = await resolveInteractionFile(path, format);
  const report = createLoadReport();
  const m = await buildInteractionMatrix(readInteractions(file, format, report));
  for (const r of report.rejected.slice(0, 5)) log(`rejected ${r.file}:${r.line}: ${r.reason}`);
  if (report.rejectedCount > 0 && report.records === 0) {
    const first = report.rejected[0];
    throw new DatasetError(`${file}: no valid ${format} interactions (${report.rejectedCount} rejected; line ${first?.line}: ${first?.reason})`);
  }
  if (m.nnz === 0) throw new DatasetError(`${file}: no interactions`);
  log(`${file}: ${report.records} rows (${report.rejectedCount} rejected) → ${m.users.ids.length} users × ${m.items.ids.length} items, ${m.nnz} pairs`);
  return m;
}

/**
 * Streams the user–item rows of a Last.fm `user_artists.dat` or a Taste Profile triplets file (plain or `.gz`),
 * line by line. Blank lines are skipped; malformed lines are added to `report` and skipped; an unreadable file
 * is reported, not thrown.
 */
export async function* readInteractions(path: string, format: InteractionFormat, report: LoadReport): AsyncGenerator<Interaction> {
  report.files += 1;
  let lines: AsyncIterable<string>;
  try {
    lines = await openLines(path, report);
  } catch (err) {
    reject(report, path, 0, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  let n = 0;
  try {
    for await (const raw of lines) {
      n += 1;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      // the header is optional: a file cut from the middle of user_artists.dat still loads
      if (n === 1 && format === 'lastfm' && LASTFM_HEADER.test(line)) continue;
      const parsed = parseInteractionLine(line);
      if (typeof parsed === 'string') reject(report, path, n, parsed);
      else {
        report.records += 1;
        yield parsed;
      }
    }
  } catch (err) {
    // a truncated .gz or a read error mid-file: report it and stop this file
    reject(report, path, n + 1, `read error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
