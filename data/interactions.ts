import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { reject, type Interaction, type LoadReport } from './types.js';

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
