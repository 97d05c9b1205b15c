import { stat, writeFile } from 'node:fs/promises';
import { DatasetError, readPipelineQueries } from '../data/index.js';
import { saveEmbeddings } from '../models/embeddings/index.js';
import { buildPlaylistPipeline, DEFAULT_PIPELINE_OPTIONS } from '../models/pipeline/index.js';
import { InputError, type Command } from './command.js';
import { EMBEDDING_FLAGS, EMBEDDING_FLAGS_HELP, embeddingOptionsFromFlags } from './embedding-flags.js';
import { intFlag, parseFlags, requiredFlag } from './flags.js';
import { readPipelinePlaylists } from './mpd-playlists.js';

const NAME = 'buddies offline recommend-playlists';

const HELP = `usage: ${NAME} --playlists DIR --queries FILE --k K --out FILE [options]

Recommends K playlists to each query user with the live recommender (models/recommend): track embeddings
learned from the playlists; each playlist's owner (every playlist is the work of its own user, who played
its tracks) as a taste vector in the pairing index; then per query user: taste (the decayed taste model
fed their tracks as plays at one time) -> buddies (KNN) -> the buddies' playlists -> ranking
(familiarity, novelty, buddy similarity, the buddies' support, track co-occurrence among the
candidates; MMR).

  --playlists DIR     MPD slices (mpd.slice.*.json or .json.gz, full or reduced schema)
  --queries FILE      JSON lines {"user": "...", "tracks": ["spotify:track:...", ...], "exclude": [pid, ...]}
  --k K               playlists per user
  --out FILE          JSON lines {"user": "...", "playlists": [pid, ...]} (K ids, best first, none in exclude;
                      a pid that two playlists share in the data is the first one's, the later one is "PID~2")
  --buddies N         buddies per user (default ${DEFAULT_PIPELINE_OPTIONS.buddies})
  --save-embeddings DIR   also write the track embeddings (vectors.f32, ids.json, manifest.json)
${EMBEDDING_FLAGS_HELP}

Progress goes to stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;


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
      'save-embeddings': { type: 'string' },
      ...EMBEDDING_FLAGS,
    });
    const playlistsDir = requiredFlag('playlists', values.playlists);
    const queriesFile = requiredFlag('queries', values.queries);
    const out = requiredFlag('out', values.out);
    const k = intFlag('k', values.k, undefined);
    const buddies = intFlag('buddies', values.buddies, DEFAULT_PIPELINE_OPTIONS.buddies);
    const pairing = embeddingOptionsFromFlags(values);
    const log = (m: string) => process.stderr.write(`[recommend-playlists] ${m}\n`);

    const st = await stat(playlistsDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new InputError(`--playlists ${playlistsDir}: no such directory`);
    const queries = await readPipelineQueries(queriesFile).catch((err: unknown) => {
      if (err instanceof DatasetError) throw err;
      throw new InputError(`--queries ${queriesFile}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`${queries.length} queries`);
    const playlists = await readPipelinePlaylists(playlistsDir, log);
    const world = await buildPlaylistPipeline(playlists, { ...pairing, buddies, log });
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
    await writeFile(out, lines.length ? `${lines.join('\n')}\n` : '').catch((err: unknown) => {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`wrote ${out}`);
    return 0;
  },
};

export default offlineRecommendPlaylistsCommand;
