import type { BprFactors, BprOptions } from '../bpr/index.js';
import { type EmbeddingMethod, type EmbeddingTrainerOptions } from '../embeddings/index.js';
import { buildPlaylistPipeline, type PipelinePlaylist, type PlaylistPipeline } from '../pipeline/index.js';
import { createRanker, type Ranker, type RankerOptions } from '../ranking/index.js';
import { createRecommender, type BprScorer } from '../recommend/index.js';
import { createMpdBprScorer, trainCorpusBpr, type MpdBprScorerOptions } from './mpd-bpr.js';
import { idfOverlapBaseline, mpdSplits, popularityBaseline, randomBaseline, scoreMpd, type MpdMethod, type MpdMetrics, type MpdQuery } from './mpd-protocol.js';

export interface MpdEvalOptions {
  readonly queries?: number;
  readonly minTracks?: number;
  readonly k?: number;
  readonly seed?: number;
  readonly dims?: number;
  readonly buddies?: number;
  /** Embedding methods to run the full pipeline with (default both). */
  readonly methods?: readonly EmbeddingMethod[];
  readonly embeddings?: Omit<EmbeddingTrainerOptions, 'method' | 'dims' | 'seed' | 'log'>;
  readonly ranking?: RankerOptions;
  /** Also run ablations of the pipeline (default true). */
  readonly ablations?: boolean;
  readonly threads?: number;
  /** The pipeline with a trained BPR in its ranking, one more row per embedding method (default on); false skips it. */
  readonly bpr?: MpdBprOptions | false;
  /**
   * `test` (default) scores the sampled queries. `validation` never looks at them: it splits their corpus once more
   * (next seed) and scores those queries instead, for tuning.
   */
  readonly on?: 'test' | 'validation';
  readonly log?: (msg: string) => void;
}

export interface MpdBprOptions {
  /** BPR hyperparameters for this task (over the models/bpr defaults; default {@link DEFAULT_MPD_BPR}). */
  readonly model?: Partial<BprOptions>;
  /** Weight of the BPR term in the ranking (default {@link DEFAULT_MPD_BPR}). */
  readonly weight?: number;
  readonly scorer?: MpdBprScorerOptions;
}

/** The BPR row's settings, chosen on the validation split (`--on validation`; docs/results/eval-mpd.md). */
export const DEFAULT_MPD_BPR = {
  model: { factors: 64, epochs: 50 } satisfies Partial<BprOptions>,
  weight: 8,
  scorer: { temperature: 0.5 } satisfies MpdBprScorerOptions,
};

export interface MpdEvalRow {
  readonly method: string;
  readonly metrics: MpdMetrics;
  readonly seconds: number;
}

export interface MpdEvalResult {
  readonly protocol: 'mpd-a';
  readonly params: Readonly<Record<string, unknown>>;
  readonly corpus: { readonly playlists: number; readonly queries: number; readonly eligible: number };
  readonly rows: readonly MpdEvalRow[];
}

/**
 * Protocol (a) end to end: split, then in the same run the full pipeline (per embedding method, plus
 * ablations) and the IDF-overlap, popularity and random baselines, each scored on the top k.
 */
export async function runMpdEval(playlists: readonly PipelinePlaylist[], options: MpdEvalOptions = {}): Promise<MpdEvalResult> {
  const o = {
    queries: options.queries ?? 500,
    minTracks: options.minTracks ?? 20,
    k: options.k ?? 10,
    seed: options.seed ?? 1,
    dims: options.dims ?? 64,
    buddies: options.buddies ?? 300,
    methods: options.methods ?? (['ppmi-svd', 'sgns'] as const),
    ablations: options.ablations ?? true,
    threads: options.threads ?? 2,
  };
  const log = options.log ?? (() => {});
  const on = options.on ?? 'test';
  if (on !== 'test' && on !== 'validation') throw new RangeError(`on must be test or validation, got ${String(on)}`);
  // validation: the test queries are left out with their split, and the remaining corpus is split again (seed + 1)
  const splits = mpdSplits(playlists, { queries: o.queries, minTracks: o.minTracks, seed: o.seed });
  const pool = on === 'test' ? playlists : splits.test.corpus;
  const split = splits[on];
  const eligible = pool.filter((p) => new Set(p.tracks).size >= o.minTracks).length;
  log(`protocol (a) on ${on}: ${split.queries.length} queries of ${eligible} eligible playlists; corpus ${split.corpus.length} playlists`);
  const bpr = options.bpr === false ? undefined : {
    model: { ...DEFAULT_MPD_BPR.model, ...options.bpr?.model },
    weight: options.bpr?.weight ?? DEFAULT_MPD_BPR.weight,
    scorer: { ...DEFAULT_MPD_BPR.scorer, ...options.bpr?.scorer },
  };
  if (bpr && !(Number.isFinite(bpr.weight) && bpr.weight >= 0)) throw new RangeError(`bpr weight must be a finite number >= 0, got ${bpr.weight}`);
  const tracks = new Map(split.corpus.map((p) => [p.id, p.tracks]));
  const rows: MpdEvalRow[] = [];
  const run = async (name: string, method: MpdMethod) => {
    const t0 = Date.now();
    const recs = await method(split.queries, o.k);
    const metrics = scoreMpd(recs, split.queries, (id) => tracks.get(id), o.k);
    const seconds = (Date.now() - t0) / 1000;
    rows.push({ method: name, metrics, seconds });
    log(`${name}: hidden share ${metrics.hiddenShare.toFixed(4)}, hit rate ${metrics.hitRate.toFixed(4)}, coverage ${metrics.coverage.toFixed(4)} (${seconds.toFixed(1)}s)`);
  };
  const ranking = options.ranking ?? {};
  // BPR learns from the corpus only (the queries are not in it), once for every embedding method
  let factors: BprFactors | undefined;
  let bprSeconds = 0;
  if (bpr && o.methods.length > 0) {
    const t0 = Date.now();
    factors = await trainCorpusBpr(split.corpus, bpr.model, log);
    bprSeconds = (Date.now() - t0) / 1000;
  }
  for (const m of o.methods) {
    const t0 = Date.now();
    const world = await buildPlaylistPipeline(split.corpus, {
      embeddings: { ...options.embeddings, method: m, dims: o.dims, seed: o.seed },
      buddies: o.buddies,
      threads: o.threads,
      ranking,
      log,
    });
    const buildSeconds = (Date.now() - t0) / 1000;
    const viaWorld = (rankerOptions?: RankerOptions): MpdMethod => async (qs, k) => {
      const recs = await world.recommend(qs, k, rankerOptions ? { ranker: createRanker(rankerOptions) } : undefined);
      return recs.map((r) => r.map((x) => x.playlistId));
    };
    await run(`pipeline (${m})`, viaWorld());
    // The pipeline's time includes learning the embeddings and building the pairing index.
    const last = rows[rows.length - 1]!;
    rows[rows.length - 1] = { ...last, seconds: last.seconds + buildSeconds };
    if (bpr && factors) {
      const scorer = createMpdBprScorer(factors, split.queries, (id) => world.catalog.get(id)?.tracks, bpr.scorer);
      const ranker = createRanker({ ...ranking, weights: { ...ranking.weights, bpr: bpr.weight } });
      await run(`pipeline (${m}) with trained BPR`, async (qs, k) => (await recommendWithBpr(world, qs, k, ranker, scorer)).map((r) => r.map((x) => x.playlistId)));
      // its time includes the pipeline's build and training BPR
      const row = rows[rows.length - 1]!;
      rows[rows.length - 1] = { ...row, seconds: row.seconds + buildSeconds + bprSeconds };
    }
    if (o.ablations) {
      const w = ranking.weights ?? {};
      await run(`  ablation (${m}): buddies ranked by taste similarity only`, viaWorld({ ...ranking, weights: { ...w, familiarity: 0, novelty: 0, support: 0, cooccurrence: 0, buddy: 1 } }));
      await run(`  ablation (${m}): without the buddies' support`, viaWorld({ ...ranking, weights: { ...w, support: 0 } }));
      await run(`  ablation (${m}): without track co-occurrence`, viaWorld({ ...ranking, weights: { ...w, cooccurrence: 0 } }));
      await run(`  ablation (${m}): without MMR`, viaWorld({ ...ranking, mmrLambda: 1 }));
    }
    await world.close();
  }
  await run('idf-overlap baseline', idfOverlapBaseline(split.corpus));
  await run('popularity', popularityBaseline(split.corpus));
  await run('random', randomBaseline(split.corpus, o.seed));
  return {
    protocol: 'mpd-a',
    params: { ...o, on, embeddings: options.embeddings ?? {}, ranking, bpr: bpr ?? false },
    corpus: { playlists: split.corpus.length, queries: split.queries.length, eligible },
    rows,
  };
}

/**
 * The pipeline's recommendations with a BPR scorer in the ranking: the users from `world.users` (as `world.recommend`
 * builds them), then the live recommender with the scorer as its BPR source.
 */
export async function recommendWithBpr(world: PlaylistPipeline, queries: readonly MpdQuery[], k: number, ranker: Ranker, scorer: BprScorer) {
  const users = world.users(queries);
  const recommender = createRecommender({ catalog: world.catalog, index: () => world.index, bpr: () => scorer }, { ranker, buddies: world.options.buddies });
  return (await recommender.recommendMany(users, k)).map((r) => r.recs);
}

/** The result as a Markdown table. */
export function formatMpdTable(r: MpdEvalResult): string {
  const k = String(r.params.k);
  const lines = [
    `| method | mean hidden share @${k} | share of top ${k} with a hidden track | hidden-set coverage @${k} | seconds |`,
    '| --- | --- | --- | --- | --- |',
    ...r.rows.map((x) => `| ${x.method.trim()} | ${x.metrics.hiddenShare.toFixed(4)} | ${x.metrics.hitRate.toFixed(4)} | ${x.metrics.coverage.toFixed(4)} | ${x.seconds.toFixed(1)} |`),
  ];
  return `${lines.join('\n')}\n`;
}
