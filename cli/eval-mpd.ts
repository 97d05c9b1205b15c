import { stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { listMpdSlices } from '../data/index.js';
import { DEFAULT_EMBEDDING_OPTIONS, EMBEDDING_METHODS } from '../models/embeddings/index.js';
import { DEFAULT_BPR_OPTIONS } from '../models/bpr/index.js';
import { DEFAULT_MPD_BPR, formatMpdTable, runMpdEval } from '../models/eval/mpd-eval.js';
import { idfOverlapBaseline, mpdSplitJson, mpdSplits, scoreMpd, type MpdSplit } from '../models/eval/mpd-protocol.js';
import { DEFAULT_PIPELINE_OPTIONS, type PipelinePlaylist } from '../models/pipeline/index.js';
import { DEFAULT_RANKING_WEIGHTS, type RankingWeights } from '../models/ranking/index.js';
import { hashFile, recordRun } from '../runs/index.js';
import { InputError, type Command } from './command.js';
import { choiceFlag, choiceListFlag, intFlag, numberFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';
import { makeDirs } from './dirs.js';
import { readPipelinePlaylists } from './mpd-playlists.js';

const NAME = 'buddies eval mpd';

const HELP = `usage: ${NAME} --playlists DIR [options]

Protocol (a): query playlists with at least --min-tracks unique tracks (a seeded sample of --queries);
the first half of each one's tracks is the known history, the second half hidden. Query playlists are
left out of the corpus (no leak into embeddings, tastes or IDF). The top --k recommended playlists are
scored by the mean share of their tracks that are hidden, the share of them holding a hidden track, and
the share of the hidden set they cover. Compared in the same run: the full pipeline per embedding
method (with ablations), the pipeline with a trained BPR in its ranking, an IDF-weighted track-overlap baseline, popularity and random. The pipeline
runs the live recommender (models/recommend: each query's known tracks folded into the decayed taste
model as plays at one time, buddies, ranking); popularity and random are its 'popular' and 'random'
strategies over the corpus. BPR learns from the corpus alone (playlists as its users, tracks as its items);
each query's factor is fitted to its known tracks with the track factors fixed, and a candidate playlist
gets the share of its tracks BPR expects in the hidden half.

  --playlists DIR     MPD slices (full or reduced schema)
  --queries N         query playlists (default 500)
  --min-tracks N      minimum unique tracks of a query playlist (default 20)
  --k K               recommendations scored (default 10)
  --seed S            sample and training seed (default ${DEFAULT_EMBEDDING_OPTIONS.seed})
  --dims D            embedding size (default ${DEFAULT_EMBEDDING_OPTIONS.dims})
  --buddies N         buddies per user (default ${DEFAULT_PIPELINE_OPTIONS.buddies})
  --methods LIST      embedding methods, comma-separated: ppmi-svd,sgns (default both)
  --no-ablations      skip the pipeline ablations
  --w-familiarity X, --w-novelty X, --w-buddy X, --w-support X, --w-cooccurrence X   ranking weights (defaults ${Object.entries(DEFAULT_RANKING_WEIGHTS).filter(([k]) => k !== 'bpr').map(([k, v]) => `${k} ${v}`).join(', ')})
  --mmr-lambda X      MMR trade-off, 1 = no diversification (default 0.9)
  --no-bpr            skip the pipeline with trained BPR
  --w-bpr X           weight of the BPR term in that row (default ${DEFAULT_MPD_BPR.weight})
  --bpr-factors N     BPR latent factors (default ${DEFAULT_MPD_BPR.model.factors})
  --bpr-epochs N      BPR epochs (default ${DEFAULT_MPD_BPR.model.epochs})
  --bpr-seed S        BPR seed, its own (default ${DEFAULT_BPR_OPTIONS.seed}; other BPR settings: models/bpr defaults)
  --bpr-temperature X softmax temperature turning BPR scores into hidden chances (default ${DEFAULT_MPD_BPR.scorer.temperature})
  --on SPLIT          test (default) | validation: leave the test queries out with their split and score
                      queries drawn from the remaining corpus (seed + 1) instead, for tuning
  --out FILE          JSON results (default out/eval-mpd.json)
  --export-split DIR  also write both splits, before the evaluation, as DIR/test.json and DIR/validation.json
                      (each corpus playlist's unique tracks, each query's known and hidden tracks, and the
                      IDF-overlap baseline's metrics on it), so outside tools (bench/mpd-references.py) score
                      exactly the same queries. They hold the data's track ids: keep them out of the repository.
${RUNS_FLAG_HELP}
  --markdown FILE     also write the table as Markdown

Prints the table on stdout, progress on stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

export const evalMpdCommand: Command = {
  summary: 'protocol (a) on MPD playlists: pipeline vs IDF overlap, popularity, random',
  help: HELP,
  async run(argv, ctx) {
    const values = parseFlags(argv, {
      playlists: { type: 'string' },
      queries: { type: 'string' },
      'min-tracks': { type: 'string' },
      k: { type: 'string' },
      seed: { type: 'string' },
      dims: { type: 'string' },
      buddies: { type: 'string' },
      methods: { type: 'string' },
      'no-ablations': { type: 'boolean' },
      'w-familiarity': { type: 'string' },
      'w-novelty': { type: 'string' },
      'w-buddy': { type: 'string' },
      'w-support': { type: 'string' },
      'w-cooccurrence': { type: 'string' },
      'mmr-lambda': { type: 'string' },
      'no-bpr': { type: 'boolean' },
      'w-bpr': { type: 'string' },
      'bpr-factors': { type: 'string' },
      'bpr-epochs': { type: 'string' },
      'bpr-seed': { type: 'string' },
      'bpr-temperature': { type: 'string' },
      on: { type: 'string' },
      out: { type: 'string' },
      markdown: { type: 'string' },
      'export-split': { type: 'string' },
      ...RUNS_FLAG,
    });
    const playlistsDir = requiredFlag('playlists', values.playlists);
    const methods = choiceListFlag('methods', values.methods, EMBEDDING_METHODS, EMBEDDING_METHODS);
    const weights: Partial<RankingWeights> = {
      familiarity: numberFlag('w-familiarity', values['w-familiarity'], DEFAULT_RANKING_WEIGHTS.familiarity, 0),
      novelty: numberFlag('w-novelty', values['w-novelty'], DEFAULT_RANKING_WEIGHTS.novelty, 0),
      buddy: numberFlag('w-buddy', values['w-buddy'], DEFAULT_RANKING_WEIGHTS.buddy, 0),
      support: numberFlag('w-support', values['w-support'], DEFAULT_RANKING_WEIGHTS.support, 0),
      cooccurrence: numberFlag('w-cooccurrence', values['w-cooccurrence'], DEFAULT_RANKING_WEIGHTS.cooccurrence, 0),
    };
    const mmrLambda = numberFlag('mmr-lambda', values['mmr-lambda'], 0.9, 0, 1);
    const opts = {
      queries: intFlag('queries', values.queries, 500),
      minTracks: intFlag('min-tracks', values['min-tracks'], 20, 2),
      k: intFlag('k', values.k, 10),
      seed: intFlag('seed', values.seed, DEFAULT_EMBEDDING_OPTIONS.seed, 0),
      dims: intFlag('dims', values.dims, DEFAULT_EMBEDDING_OPTIONS.dims),
      buddies: intFlag('buddies', values.buddies, DEFAULT_PIPELINE_OPTIONS.buddies),
      methods,
      ablations: !values['no-ablations'],
      ranking: { weights, mmrLambda },
      on: choiceFlag('on', values.on, ['test', 'validation'] as const, 'test'),
      bpr: values['no-bpr']
        ? (false as const)
        : {
            weight: numberFlag('w-bpr', values['w-bpr'], DEFAULT_MPD_BPR.weight, 0),
            model: {
              factors: intFlag('bpr-factors', values['bpr-factors'], DEFAULT_MPD_BPR.model.factors),
              epochs: intFlag('bpr-epochs', values['bpr-epochs'], DEFAULT_MPD_BPR.model.epochs),
              seed: intFlag('bpr-seed', values['bpr-seed'], DEFAULT_BPR_OPTIONS.seed, 0),
            },
            scorer: { temperature: numberFlag('bpr-temperature', values['bpr-temperature'], DEFAULT_MPD_BPR.scorer.temperature, 0.01) },
          },
    };
    const out = values.out ?? 'out/eval-mpd.json';
    const log = (m: string) => process.stderr.write(`[eval mpd] ${m}\n`);

    const st = await stat(playlistsDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new InputError(`--playlists ${playlistsDir}: no such directory`);
    // before minutes of work, not after
    await makeDirs(dirname(out), 'choose a writable path for --out');
    if (values.markdown) await makeDirs(dirname(values.markdown), 'choose a writable path for --markdown');
    if (values['export-split']) await makeDirs(values['export-split'], 'choose a writable folder for --export-split');
    const playlists = await readPipelinePlaylists(playlistsDir, log);
    if (values['export-split']) await exportSplits(values['export-split'], playlists, opts, log);
    const startedAt = new Date().toISOString();
    const result = await runMpdEval(playlists, { ...opts, log });
    const table = formatMpdTable(result);
    process.stdout.write(`\n${table}`);
    await writeFile(out, `${JSON.stringify({ ...result, playlistsDir, date: new Date().toISOString() }, null, 2)}\n`);
    log(`wrote ${out}`);
    if (values.markdown) {
      await writeFile(values.markdown, table);
      log(`wrote ${values.markdown}`);
    }
    // the data's identity: the hashes of its slice files, in order
    const dataHash = createHash('sha256');
    for (const f of await listMpdSlices(playlistsDir)) dataHash.update(await hashFile(f));
    const run = await recordRun(runStoreFor(values.runs, ctx.config), {
      kind: 'eval', command: `eval mpd ${argv.join(' ')}`, startedAt,
      params: { protocol: 'mpd-a', ...result.params }, dataPath: playlistsDir, dataHash: dataHash.digest('hex').slice(0, 16), artifact: resolve(out),
      metrics: Object.fromEntries(result.rows.flatMap((r) => Object.entries(r.metrics).filter(([, v]) => typeof v === 'number').map(([k, v]) => [`${r.method}.${k}`, v as number]))),
    });
    log(`run ${run.id}`);
    return 0;
  },
};

export default evalMpdCommand;

/**
 * Writes the test and the validation split (the ones `--on` scores) as JSON for outside tools, each with the
 * IDF-overlap baseline's metrics on it, which such a tool recomputes to prove that it scores the same way.
 */
async function exportSplits(dir: string, playlists: readonly PipelinePlaylist[], o: { readonly queries: number; readonly minTracks: number; readonly seed: number; readonly k: number }, log: (m: string) => void): Promise<void> {
  const splits = mpdSplits(playlists, { queries: o.queries, minTracks: o.minTracks, seed: o.seed });
  const idfMetrics = async (s: MpdSplit) => {
    const tracks = new Map(s.corpus.map((p) => [p.id, p.tracks]));
    return scoreMpd(await idfOverlapBaseline(s.corpus)(s.queries, o.k), s.queries, (id) => tracks.get(id), o.k);
  };
  for (const on of ['test', 'validation'] as const) {
    const s = splits[on];
    const file = resolve(dir, `${on}.json`);
    const json = mpdSplitJson(s, { protocol: 'mpd-a', on, seed: on === 'test' ? o.seed : o.seed + 1, minTracks: o.minTracks, k: o.k, idfOverlap: await idfMetrics(s) });
    try {
      await writeFile(file, `${JSON.stringify(json)}\n`);
    } catch (err) {
      throw new InputError(`cannot write the split to ${file}: ${err instanceof Error ? err.message : String(err)}; choose a writable folder for --export-split`);
    }
    log(`${on} split written to ${file} (${s.corpus.length} corpus playlists, ${s.queries.length} queries)`);
  }
}
