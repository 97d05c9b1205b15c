/**
 * Ranking settings of the MPD pipeline on one split of protocol (a), each scored by mean hidden share @10: the grid
 * behind the ranking defaults (docs/results/eval-mpd.md, "Track co-occurrence"). Builds the split, the ppmi-svd
 * pipeline and the corpus BPR once, exactly as `buddies eval mpd` does, then runs the live recommender once per
 * setting. Tune on validation (the default); score test once, through `buddies eval mpd`, with what it picked.
 *
 * Usage: npx tsx bench/mpd-ranking-grid.ts --playlists DIR [--on validation|test] [--settings JSON] [--out FILE]
 *   --settings  a JSON list of settings, each {"weights": {...}, "cooccurrence": {...}, "mmrLambda": x,
 *               "supportPower": x, "buddies": n, "bpr": false}; omitted keys take the defaults (bpr weight: eval
 *               mpd's). Default: the grid of the docs.
 *   --out       also write the rows as JSON
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLoadReport, readMpdDir } from '../data/index.js';
import { createMpdBprScorer, trainCorpusBpr } from '../models/eval/mpd-bpr.js';
import { DEFAULT_MPD_BPR } from '../models/eval/mpd-eval.js';
import { mpdSplits, scoreMpd } from '../models/eval/mpd-protocol.js';
import { buildPlaylistPipeline, pipelinePlaylistFromMpd, uniquePlaylistIds, type PipelinePlaylist } from '../models/pipeline/index.js';
import { createRanker, type RankerOptions } from '../models/ranking/index.js';
import { createRecommender } from '../models/recommend/index.js';

interface Setting extends Omit<RankerOptions, 'engagementWeight' | 'mmrPool'> {
  readonly buddies?: number;
  readonly bpr?: boolean;
}

const GRID: Setting[] = [
  { weights: { cooccurrence: 0 } },
  ...[1, 4, 16, 1000].map((w) => ({ weights: { cooccurrence: w }, cooccurrence: { beta: 0.3 } })),
  { weights: { cooccurrence: 4 }, cooccurrence: { beta: 0, gamma: 1, lengthPower: 1 } },
  { weights: { cooccurrence: 4 }, cooccurrence: { alpha: 1, beta: 0.3 } },
  ...[{ gamma: 3 }, { lengthPower: 1.2 }, { lengthPower: 1 }].map((c) => ({ weights: { cooccurrence: 8 }, cooccurrence: { beta: 0.3, ...c } })),
  {},
  ...[1000, 3000].map((buddies) => ({ buddies, weights: { cooccurrence: 16 }, cooccurrence: { beta: 0.3 } })),
  ...[2, 16, 32].map((bpr) => ({ weights: { bpr } })),
  { weights: { support: 8 } },
  { weights: { cooccurrence: 4 } },
  { weights: { cooccurrence: 16 } },
  { weights: { novelty: 0 } },
  { mmrLambda: 1 },
  { bpr: false },
];

const { values } = parseArgs({
  options: {
    playlists: { type: 'string' },
    on: { type: 'string', default: 'validation' },
    settings: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
const usage = 'usage: npx tsx bench/mpd-ranking-grid.ts --playlists DIR [--on validation|test] [--settings JSON] [--out FILE]';
if (values.help) {
  process.stdout.write(`${usage}\nSee the comment at the top of bench/mpd-ranking-grid.ts.\n`);
  process.exit(0);
}
const fail = (msg: string): never => {
  process.stderr.write(`mpd-ranking-grid: ${msg}\n${usage}\n`);
  process.exit(2);
};
if (!values.playlists) fail('--playlists DIR is required');
const on = values.on as 'validation' | 'test';
if (on !== 'validation' && on !== 'test') fail(`--on must be validation or test, got ${values.on}`);
let grid = GRID;
if (values.settings) {
  try {
    grid = JSON.parse(values.settings) as Setting[];
  } catch (e) {
    fail(`--settings is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(grid)) fail('--settings must be a JSON list');
}
// every setting's ranker, made before the minutes of building: a bad weight or option fails here, in one line
const rankers = grid.map((setting, i) => {
  if (typeof setting !== 'object' || setting === null || Array.isArray(setting)) return fail(`--settings: setting ${i + 1} is not an object`);
  const { buddies, bpr: _bpr, ...options } = setting;
  if (buddies !== undefined && !(Number.isInteger(buddies) && buddies >= 1)) return fail(`--settings: setting ${i + 1}: buddies must be a positive integer`);
  try {
    return createRanker({ ...options, weights: { bpr: DEFAULT_MPD_BPR.weight, ...options.weights } });
  } catch (e) {
    return fail(`--settings: setting ${i + 1}: ${(e as Error).message}`);
  }
});

const log = (m: string) => process.stderr.write(`[grid] ${m}\n`);
const loaded: PipelinePlaylist[] = [];
try {
  for await (const p of readMpdDir(values.playlists!, createLoadReport())) loaded.push(pipelinePlaylistFromMpd(p));
} catch (e) {
  fail(`cannot read --playlists ${values.playlists}: ${(e as Error).message}`);
}
if (loaded.length === 0) fail(`--playlists ${values.playlists}: no MPD playlists found`);
// as eval mpd: unique ids, the default split (500 queries, min 20 tracks, seed 1)
const split = mpdSplits(uniquePlaylistIds(loaded).playlists, { queries: 500, minTracks: 20, seed: 1 })[on];
const tracks = new Map(split.corpus.map((p) => [p.id, p.tracks]));
log(`${on}: ${split.queries.length} queries, corpus ${split.corpus.length}; training BPR and building the pipeline`);
const factors = await trainCorpusBpr(split.corpus, DEFAULT_MPD_BPR.model, log);
const world = await buildPlaylistPipeline(split.corpus, { embeddings: { method: 'ppmi-svd', dims: 64, seed: 1 }, buddies: 300, threads: 2, log });
const scorer = createMpdBprScorer(factors, split.queries, (id) => world.catalog.get(id)?.tracks, DEFAULT_MPD_BPR.scorer);
const users = world.users(split.queries);
const rows = [];
for (const [i, setting] of grid.entries()) {
  const { buddies = 300, bpr = true } = setting;
  const t0 = Date.now();
  const ranker = rankers[i]!;
  const recommender = createRecommender({ catalog: world.catalog, index: () => world.index, ...(bpr ? { bpr: () => scorer } : {}) }, { ranker, buddies });
  const recs = (await recommender.recommendMany(users, 10)).map((r) => r.recs.map((x) => x.playlistId));
  const m = scoreMpd(recs, split.queries, (id) => tracks.get(id), 10);
  const row = { on, setting, hiddenShare: m.hiddenShare, hitRate: m.hitRate, coverage: m.coverage, seconds: (Date.now() - t0) / 1000 };
  rows.push(row);
  process.stdout.write(`${on}\t${m.hiddenShare.toFixed(4)}\t${m.hitRate.toFixed(4)}\t${row.seconds.toFixed(1)}s\t${JSON.stringify(setting)}\n`);
  log(`${i + 1}/${grid.length} done`);
}
await world.close();
if (values.out) await writeFile(values.out, `${JSON.stringify(rows, null, 2)}\n`);
