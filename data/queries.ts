import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { PipelineQuery } from '../models/pipeline/index.js';
import { DatasetError } from './types.js';

/**
 * Reads and validates a queries file of `buddies offline recommend-playlists`: one JSON object per non-blank line,
 * `{"user": "...", "tracks": [...], "exclude": [...]}`. A malformed line is a {@link DatasetError} naming it.
 */
export async function readPipelineQueries(path: string): Promise<PipelineQuery[]> {
  const out: PipelineQuery[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    let q: unknown;
    try {
      q = JSON.parse(text);
    } catch (err) {
      throw new DatasetError(`${path}:${line}: not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const o = q as { user?: unknown; tracks?: unknown; exclude?: unknown };
    if (typeof q !== 'object' || q === null || typeof o.user !== 'string' && typeof o.user !== 'number') {
      throw new DatasetError(`${path}:${line}: expected {"user": "...", "tracks": [...], "exclude": [...]}`);
    }
    if (!Array.isArray(o.tracks) || !o.tracks.every((t) => typeof t === 'string')) throw new DatasetError(`${path}:${line}: "tracks" must be an array of strings`);
    const exclude = o.exclude ?? [];
    if (!Array.isArray(exclude) || !exclude.every((p) => typeof p === 'number' || typeof p === 'string')) {
      throw new DatasetError(`${path}:${line}: "exclude" must be an array of playlist ids`);
    }
    out.push({ user: String(o.user), tracks: o.tracks as string[], exclude: exclude.map(String) });
  }
  return out;
}
