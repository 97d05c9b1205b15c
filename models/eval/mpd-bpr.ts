import { createBpr, type BprFactors, type BprOptions } from '../bpr/index.js';
import { buildInteractionMatrix, type InteractionMatrix } from '../interactions.js';
import type { PipelinePlaylist } from '../pipeline/index.js';
import { createRng } from '../random.js';
import type { BprScorer } from '../recommend/index.js';

/**
 * BPR for protocol (a): corpus playlists are BPR's "users" and their tracks its items, so training learns track
 * factors from the corpus alone (the query playlists are not in it). A query is folded in afterwards: its user
 * factor is fitted to its known tracks with the track factors fixed. A candidate playlist is scored by the share of
 * its tracks the model expects in the query's hidden half, the quantity protocol (a) measures.
 */

/** Corpus playlists × their unique tracks, weight 1 each. */
export function corpusInteractions(corpus: readonly PipelinePlaylist[]): Promise<InteractionMatrix> {
  return buildInteractionMatrix(corpus.flatMap((p) => [...new Set(p.tracks)].map((item) => ({ user: p.id, item, weight: 1 }))));
}

/** Trains BPR (cpu backend) on the corpus; `bpr` overrides the model's defaults for this task (its own seed among them). */
export async function trainCorpusBpr(corpus: readonly PipelinePlaylist[], bpr: Partial<BprOptions> = {}, log?: (m: string) => void): Promise<BprFactors> {
  const train = await corpusInteractions(corpus);
  const model = await createBpr({ ...bpr, backend: 'cpu', ...(log ? { log } : {}) });
  try {
    const report = await model.fit(train);
    const last = report.epochs[report.epochs.length - 1];
    log?.(`bpr: ${train.users.ids.length} playlists × ${train.items.ids.length} tracks (${train.nnz} pairs), ${report.epochs.length} epochs in ${report.seconds.toFixed(1)}s, last training AUC ${last ? last.auc.toFixed(3) : '-'}`);
    return model.model;
  } finally {
    model.dispose();
  }
}

export interface FoldInOptions {
  /** Passes over the known tracks (default 100). */
  readonly epochs: number;
  readonly learningRate: number;
  readonly regularization: number;
  readonly seed: number;
}

export const DEFAULT_FOLD_IN_OPTIONS: FoldInOptions = { epochs: 100, learningRate: 0.05, regularization: 0.01, seed: 42 };

/**
 * A new user's factor row (with the bias column at 1 when the model has item biases), fitted by BPR SGD to `known`
 * item indices with the item factors fixed: each step a known item against a uniform item not known. Seeded.
 */
export function foldInUser(f: BprFactors, known: readonly number[], options: Partial<FoldInOptions> = {}): Float32Array {
  const o = { ...DEFAULT_FOLD_IN_OPTIONS, ...options };
  const s = f.stride;
  const nf = f.factors;
  const n = f.items.ids.length;
  const u = new Float32Array(s);
  if (f.itemBias) u[nf] = 1;
  const isKnown = new Set(known);
  if (known.length === 0 || isKnown.size >= n) return u;
  const rng = createRng(o.seed);
  const V = f.itemFactors;
  const steps = o.epochs * known.length;
  for (let step = 0; step < steps; step++) {
    const i = known[rng.int(known.length)]!;
    let j = rng.int(n);
    while (isKnown.has(j)) j = rng.int(n);
    const a = i * s;
    const b = j * s;
    let x = 0;
    for (let c = 0; c < s; c++) x += u[c]! * (V[a + c]! - V[b + c]!);
    const g = 1 / (1 + Math.exp(x));
    for (let c = 0; c < nf; c++) u[c]! += o.learningRate * (g * (V[a + c]! - V[b + c]!) - o.regularization * u[c]!);
  }
  return u;
}

/** Scores of every item for user row `u` (a plain dot product: the bias column is in the stride). */
export function itemScores(f: BprFactors, u: Float32Array): Float32Array {
  const s = f.stride;
  const n = f.items.ids.length;
  const V = f.itemFactors;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = 0;
    const a = i * s;
    for (let c = 0; c < s; c++) x += u[c]! * V[a + c]!;
    out[i] = x;
  }
  return out;
}

/**
 * The chance that each item is in the query's hidden half, from BPR scores read as a softmax over items (score
 * differences as log-odds, at temperature `temperature`) scaled to `expected` hidden items, capped at 1.
 * Items in `heard` are never hidden (protocol (a) splits unique tracks): 0.
 */
export function hiddenChances(scores: Float32Array, expected: number, heard: ReadonlySet<number>, temperature = 1): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (!heard.has(i) && scores[i]! > max) max = scores[i]!;
  const out = new Float32Array(scores.length);
  if (max === -Infinity) return out;
  let z = 0;
  for (let i = 0; i < scores.length; i++) {
    if (heard.has(i)) continue;
    const e = Math.exp((scores[i]! - max) / temperature);
    out[i] = e;
    z += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, (expected * out[i]!) / z);
  return out;
}

const EPS = 1e-6;

/** logit, so that the ranker's logistic squash gives the value back. */
const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

/**
 * How a playlist is scored from the query's item scores: `share`, the expected share of its tracks in the hidden half
 * (softmax chances, see {@link hiddenChances}), as logit; `mean`, the mean raw BPR score of its unheard tracks
 * (heard ones count 0 to the mean), i.e. the folded-in user against the playlist's mean track factor.
 */
export type PlaylistScoring = 'share' | 'mean';

export interface MpdBprScorerOptions {
  readonly foldIn?: Partial<FoldInOptions>;
  /** Default `share`. */
  readonly scoring?: PlaylistScoring;
  /** Softmax temperature of {@link hiddenChances} (default 1). */
  readonly temperature?: number;
}

/** A query as the scorer needs it: its user id and known tracks. */
export interface MpdBprQuery {
  readonly user: string;
  readonly tracks: readonly string[];
}

/**
 * The {@link BprScorer} the recommender ranks with: per query, its user factor folded in from its known tracks;
 * per candidate playlist, the raw score logit(expected hidden share), the mean over the playlist's unique tracks of
 * their hidden chance, so the ranker's logistic turns it back into that share. Users it was not given are unknown
 * (undefined). Per-query chances are computed on first use and kept.
 */
export function createMpdBprScorer(
  f: BprFactors,
  queries: readonly MpdBprQuery[],
  tracksOf: (playlist: string) => readonly string[] | undefined,
  options: MpdBprScorerOptions = {},
): BprScorer {
  const byUser = new Map(queries.map((q) => [q.user, q]));
  const mean = options.scoring === 'mean';
  const cache = new Map<string, Float32Array>();
  const chancesOf = (user: string): Float32Array | undefined => {
    const hit = cache.get(user);
    if (hit) return hit;
    const q = byUser.get(user);
    if (!q) return undefined;
    const known = [...new Set(q.tracks)].flatMap((t) => {
      const i = f.items.indexOf(t);
      return i === undefined ? [] : [i];
    });
    const u = foldInUser(f, known, options.foldIn);
    const scores = itemScores(f, u);
    let c: Float32Array;
    if (mean) {
      for (const i of known) scores[i] = 0;
      c = scores;
    } else c = hiddenChances(scores, new Set(q.tracks).size, new Set(known), options.temperature ?? 1);
    cache.set(user, c);
    return c;
  };
  return {
    score(user, playlists) {
      const c = chancesOf(user);
      if (!c) return undefined;
      const out = new Float32Array(playlists.length);
      playlists.forEach((pid, k) => {
        const tracks = [...new Set(tracksOf(pid) ?? [])];
        let s = 0;
        for (const t of tracks) {
          const i = f.items.indexOf(t);
          if (i !== undefined) s += c[i]!;
        }
        const m = tracks.length > 0 ? s / tracks.length : 0;
        out[k] = mean ? m : logit(m);
      });
      return out;
    },
  };
}
