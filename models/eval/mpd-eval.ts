import type { EmbeddingMethod, EmbeddingTrainerOptions } from '../embeddings/index.js';
import { buildPlaylistPipeline, type PipelinePlaylist } from '../pipeline/index.js';
import { createRanker, type RankerOptions } from '../ranking/index.js';
import { idfOverlapBaseline, popularityBaseline, randomBaseline, scoreMpd, splitMpd, type MpdMethod, type MpdMetrics } from './mpd-protocol.js';

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
  readonly log?: (msg: string) => void;
}

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
  const split = splitMpd(playlists, { queries: o.queries, minTracks: o.minTracks, seed: o.seed });
  const eligible = playlists.filter((p) => new Set(p.tracks).size >= o.minTracks).length;
  log(`protocol (a): ${split.queries.length} queries of ${eligible} eligible playlists; corpus ${split.corpus.length} playlists`);
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
    if (o.ablations) {
      const w = ranking.weights ?? {};
      await run(`  ablation (${m}): buddies ranked by taste similarity only`, viaWorld({ ...ranking, weights: { ...w, familiarity: 0, novelty: 0, support: 0, buddy: 1 } }));
      await run(`  ablation (${m}): without the buddies' support`, viaWorld({ ...ranking, weights: { ...w, support: 0 } }));
      await run(`  ablation (${m}): without MMR`, viaWorld({ ...ranking, mmrLambda: 1 }));
    }
    await world.close();
  }
  await run('idf-overlap baseline', idfOverlapBaseline(split.corpus));
  await run('popularity', popularityBaseline(split.corpus));
  await run('random', randomBaseline(split.corpus, o.seed));
  return {
    protocol: 'mpd-a',
    params: { ...o, embeddings: options.embeddings ?? {}, ranking },
    corpus: { playlists: split.corpus.length, queries: split.queries.length, eligible },
    rows,
  };
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
