import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { createLoadReport, listMpdSlices, readMpdDir } from '../data/index.js';
import type { EmbeddingMethod } from '../models/embeddings/index.js';
import { formatMpdTable, runMpdEval } from '../models/eval/mpd-eval.js';
import { worldPlaylistFromMpd, type WorldPlaylist } from '../models/pipeline/index.js';
import { DEFAULT_RANKING_WEIGHTS, type RankingWeights } from '../models/ranking/index.js';
import { codeVersion, hashFile } from '../models/runs/index.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './bpr-flags.js';
import { UsageError, type Command } from './command.js';
import { parseFlags } from './flags.js';

const NAME = 'buddies eval mpd';

const HELP = `usage: ${NAME} --playlists DIR [options]

Protocol (a): query playlists with at least --min-tracks unique tracks (a seeded sample of --queries);
the first half of each one's tracks is the known history, the second half hidden. Query playlists are
left out of the corpus (no leak into embeddings, tastes or IDF). The top --k recommended playlists are
scored by the mean share of their tracks that are hidden, the share of them holding a hidden track, and
the share of the hidden set they cover. Compared in the same run: the full pipeline per embedding
method (with ablations), an IDF-weighted track-overlap baseline, popularity and random.

  --playlists DIR     MPD slices (full or reduced schema)
  --queries N         query playlists (default 500)
  --min-tracks N      minimum unique tracks of a query playlist (default 20)
  --k K               recommendations scored (default 10)
  --seed S            sample and training seed (default 1)
  --dims D            embedding size (default 64)
  --buddies N         buddies per user (default 300)
  --methods LIST      embedding methods, comma-separated: ppmi-svd,sgns (default both)
  --no-ablations      skip the pipeline ablations
  --w-familiarity X, --w-novelty X, --w-buddy X, --w-support X   ranking weights (defaults ${Object.entries(DEFAULT_RANKING_WEIGHTS).filter(([k]) => k !== 'bpr').map(([k, v]) => `${k} ${v}`).join(', ')})
  --mmr-lambda X      MMR trade-off, 1 = no diversification (default 0.9)
  --out FILE          JSON results (default runs/eval-mpd.json)
${RUNS_FLAG_HELP}
  --markdown FILE     also write the table as Markdown

Prints the table on stdout, progress on stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

function num(name: string, v: string | undefined, dflt: number, integer: boolean, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${v}'`);
  }
  return n;
}

export const evalMpdCommand: Command = {
  summary: 'protocol (a) on MPD playlists: pipeline vs IDF overlap, popularity, random',
  help: HELP,
  async run(argv) {
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
      'mmr-lambda': { type: 'string' },
      out: { type: 'string' },
      markdown: { type: 'string' },
      ...RUNS_FLAG,
    });
    if (!values.playlists) throw new UsageError('--playlists is required');
    const methods = (values.methods ?? 'ppmi-svd,sgns').split(',').map((m) => m.trim());
    for (const m of methods) if (m !== 'ppmi-svd' && m !== 'sgns') throw new UsageError(`--methods: unknown method '${m}' (ppmi-svd, sgns)`);
    const weights: Partial<RankingWeights> = {
      familiarity: num('w-familiarity', values['w-familiarity'], DEFAULT_RANKING_WEIGHTS.familiarity, false, 0),
      novelty: num('w-novelty', values['w-novelty'], DEFAULT_RANKING_WEIGHTS.novelty, false, 0),
      buddy: num('w-buddy', values['w-buddy'], DEFAULT_RANKING_WEIGHTS.buddy, false, 0),
      support: num('w-support', values['w-support'], DEFAULT_RANKING_WEIGHTS.support, false, 0),
    };
    const mmrLambda = num('mmr-lambda', values['mmr-lambda'], 0.9, false, 0);
    if (mmrLambda > 1) throw new UsageError('--mmr-lambda must be in [0, 1]');
    const opts = {
      queries: num('queries', values.queries, 500, true, 1),
      minTracks: num('min-tracks', values['min-tracks'], 20, true, 2),
      k: num('k', values.k, 10, true, 1),
      seed: num('seed', values.seed, 1, true, 0),
      dims: num('dims', values.dims, 64, true, 1),
      buddies: num('buddies', values.buddies, 300, true, 1),
      methods: methods as EmbeddingMethod[],
      ablations: !values['no-ablations'],
      ranking: { weights, mmrLambda },
    };
    const out = values.out ?? 'runs/eval-mpd.json';
    const log = (m: string) => process.stderr.write(`[eval mpd] ${m}\n`);

    const st = await stat(values.playlists).catch(() => undefined);
    if (!st?.isDirectory()) {
      process.stderr.write(`${NAME}: --playlists ${values.playlists}: no such directory\n`);
      return 1;
    }
    const report = createLoadReport();
    const playlists: WorldPlaylist[] = [];
    for await (const p of readMpdDir(values.playlists, report)) playlists.push(worldPlaylistFromMpd(p));
    log(`${playlists.length} playlists from ${report.files} files (${report.rejectedCount} rejected records)`);
    if (playlists.length === 0) {
      process.stderr.write(`${NAME}: --playlists ${values.playlists}: no MPD playlists found\n`);
      return 1;
    }
    const startedAt = new Date().toISOString();
    const result = await runMpdEval(playlists, { ...opts, log });
    const table = formatMpdTable(result);
    process.stdout.write(`\n${table}`);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify({ ...result, playlistsDir: values.playlists, date: new Date().toISOString() }, null, 2)}\n`);
    log(`wrote ${out}`);
    if (values.markdown) {
      await mkdir(dirname(values.markdown), { recursive: true });
      await writeFile(values.markdown, table);
      log(`wrote ${values.markdown}`);
    }
    // the data's identity: the hashes of its slice files, in order
    const dataHash = createHash('sha256');
    for (const f of await listMpdSlices(values.playlists)) dataHash.update(await hashFile(f));
    const version = await codeVersion();
    const run = await runStoreFor(values.runs).record({
      kind: 'eval', command: `eval mpd ${argv.join(' ')}`, startedAt, seconds: (Date.now() - Date.parse(startedAt)) / 1000,
      params: { protocol: 'mpd-a', ...result.params }, dataPath: values.playlists, dataHash: dataHash.digest('hex').slice(0, 16), artifact: resolve(out),
      metrics: Object.fromEntries(result.rows.flatMap((r) => Object.entries(r.metrics).filter(([, v]) => typeof v === 'number').map(([k, v]) => [`${r.method}.${k}`, v as number]))),
      ...(version ? { codeVersion: version } : {}),
    });
    log(`run ${run.id}`);
    return 0;
  },
};

export default evalMpdCommand;
