import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createLoadReport, readMpdDir } from '../data/index.js';
import { saveEmbeddings } from '../models/embeddings/index.js';
import { buildPlaylistWorld, worldPlaylistFromMpd, type PipelineQuery, type WorldPlaylist } from '../models/pipeline/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, parseFlags } from './flags.js';

const NAME = 'buddies offline recommend-playlists';

const HELP = `usage: ${NAME} --playlists DIR --queries FILE --k K --out FILE [options]

Recommends K playlists to each query user with the live pipeline: track embeddings learned from the
playlists, each playlist's owner (every playlist is the work of its own user, who likes its tracks) as a
taste vector in the pairing index, then per query user: taste -> buddies (KNN) -> the buddies'
playlists -> ranking (familiarity, novelty, buddy similarity, the buddies' support; MMR).

  --playlists DIR     MPD slices (mpd.slice.*.json or .json.gz, full or reduced schema)
  --queries FILE      JSON lines {"user": "...", "tracks": ["spotify:track:...", ...], "exclude": [pid, ...]}
  --k K               playlists per user
  --out FILE          JSON lines {"user": "...", "playlists": [pid, ...]} (K ids, best first, none in exclude)
  --buddies N         buddies per user (default 300)
  --dims D            embedding size (default 64)
  --method M          ppmi-svd (default) or sgns
  --index I           exact (default) or hnsw
  --threads T         worker threads for the exact KNN (default 2)
  --seed S            seed (default 1)
  --save-embeddings DIR   also write the track embeddings (vectors.f32, ids.json, manifest.json)

Progress goes to stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;


class InputError extends Error {
  override readonly name = 'InputError';
}

/** Reads and validates the queries file (one JSON object per non-blank line). */
export async function readQueries(path: string): Promise<PipelineQuery[]> {
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
      throw new InputError(`${path}:${line}: not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const o = q as { user?: unknown; tracks?: unknown; exclude?: unknown };
    if (typeof q !== 'object' || q === null || typeof o.user !== 'string' && typeof o.user !== 'number') {
      throw new InputError(`${path}:${line}: expected {"user": "...", "tracks": [...], "exclude": [...]}`);
    }
    if (!Array.isArray(o.tracks) || !o.tracks.every((t) => typeof t === 'string')) throw new InputError(`${path}:${line}: "tracks" must be an array of strings`);
    const exclude = o.exclude ?? [];
    if (!Array.isArray(exclude) || !exclude.every((p) => typeof p === 'number' || typeof p === 'string')) {
      throw new InputError(`${path}:${line}: "exclude" must be an array of playlist ids`);
    }
    out.push({ user: String(o.user), tracks: o.tracks as string[], exclude: exclude.map(String) });
  }
  return out;
}

export const offlineRecommendPlaylistsCommand: Command = {
  summary: 'recommend K playlists to each query user (embeddings, buddies, candidates, ranking)',
  help: HELP,
  async run(argv) {
    const values = parseFlags(argv, {
      playlists: { type: 'string' },
      queries: { type: 'string' },
      k: { type: 'string' },
      out: { type: 'string' },
      buddies: { type: 'string' },
      dims: { type: 'string' },
      method: { type: 'string' },
      index: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      'save-embeddings': { type: 'string' },
    });
    if (!values.playlists) throw new UsageError('--playlists is required');
    if (!values.queries) throw new UsageError('--queries is required');
    if (!values.out) throw new UsageError('--out is required');
    const k = intFlag('k', values.k, undefined);
    const buddies = intFlag('buddies', values.buddies, 300);
    const dims = intFlag('dims', values.dims, 64);
    const threads = intFlag('threads', values.threads, 2);
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${values.seed}'`);
    const method = values.method ?? 'ppmi-svd';
    if (method !== 'ppmi-svd' && method !== 'sgns') throw new UsageError(`--method must be ppmi-svd or sgns, got '${method}'`);
    const index = values.index ?? 'exact';
    if (index !== 'exact' && index !== 'hnsw') throw new UsageError(`--index must be exact or hnsw, got '${index}'`);
    const log = (m: string) => process.stderr.write(`[recommend-playlists] ${m}\n`);

    try {
      const st = await stat(values.playlists).catch(() => undefined);
      if (!st?.isDirectory()) throw new InputError(`--playlists ${values.playlists}: no such directory`);
      const queries = await readQueries(values.queries).catch((err: unknown) => {
        if (err instanceof InputError) throw err;
        throw new InputError(`--queries ${values.queries}: ${err instanceof Error ? err.message : String(err)}`);
      });
      log(`${queries.length} queries`);
      const report = createLoadReport();
      const playlists: WorldPlaylist[] = [];
      for await (const p of readMpdDir(values.playlists, report)) playlists.push(worldPlaylistFromMpd(p));
      log(`${playlists.length} playlists from ${report.files} files (${report.rejectedCount} rejected records)`);
      for (const r of report.rejected.slice(0, 5)) log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
      if (playlists.length === 0) throw new InputError(`--playlists ${values.playlists}: no MPD playlists found`);
      const world = await buildPlaylistWorld(playlists, { embeddings: { method, dims, seed }, buddies, index, threads, log });
      if (values['save-embeddings']) {
        const m = await saveEmbeddings(world.embeddings, values['save-embeddings']);
        log(`embeddings ${m.version} saved to ${values['save-embeddings']}`);
      }
      const t0 = Date.now();
      const recs = await world.recommend(queries, k);
      log(`recommended for ${queries.length} users in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      await world.close();
      const lines = queries.map((q, i) => {
        const ex = new Set(q.exclude);
        const ids = recs[i]!.map((r) => r.playlistId).filter((id) => !ex.has(id));
        return JSON.stringify({ user: q.user, playlists: ids.map((id) => (/^\d+$/.test(id) ? Number(id) : id)) });
      });
      await writeFile(values.out, lines.length ? `${lines.join('\n')}\n` : '');
      log(`wrote ${values.out}`);
      return 0;
    } catch (err) {
      if (err instanceof InputError || (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EACCES') {
        process.stderr.write(`${NAME}: ${err instanceof Error ? err.message : String(err)}\n`);
        return 1;
      }
      throw err;
    }
  },
};

export default offlineRecommendPlaylistsCommand;
