import type { RankedBuddy, RankingExplanation, PlaylistCatalog, PlaylistInfo, RankingUser, Recommendation, ScoreComponents } from './types.js';

/** Weights of the score terms; each term lies in [0, 1] (BPR scores are squashed by a logistic). */
export interface RankingWeights {
  /** BPR preference of the user for the playlist (used only when a BPR scorer is given). */
  readonly bpr: number;
  /** Mean cosine between the user's taste and the playlist's tracks. */
  readonly familiarity: number;
  /** Share of the playlist's tracks the user has not heard. */
  readonly novelty: number;
  /** Taste similarity of the buddy who made or follows it. */
  readonly buddy: number;
  /**
   * The other buddies' evidence: per unheard track, the similarity-weighted share of the other buddies
   * whose playlists hold it, averaged over the playlist's tracks.
   */
  readonly support: number;
  /**
   * Track co-occurrence among the candidates (RP3beta restricted to them): the user's heard tracks spread weight to
   * the candidates holding them, and those to their unheard tracks; a candidate scores the sum over its unheard
   * tracks, over its length to a power, scaled so the best candidate gets 1. See {@link CooccurrenceOptions}.
   */
  readonly cooccurrence: number;
}

/** Shape of the co-occurrence term (defaults chosen on the MPD validation split; docs/results/eval-mpd.md). */
export interface CooccurrenceOptions {
  /** Damping of popular heard tracks and of long candidates in the first step, and of long ones in the second (default 0.5). */
  readonly alpha?: number;
  /** Damping of tracks many candidates hold (popularity, default 0.5). */
  readonly beta?: number;
  /** Sharpening: each track's chance to this power before summing (default 2). */
  readonly gamma?: number;
  /** The sum is divided by the candidate's length to this power (default 1.1: slightly favours short, dense playlists). */
  readonly lengthPower?: number;
}

export const DEFAULT_COOCCURRENCE: Required<CooccurrenceOptions> = { alpha: 0.5, beta: 0.5, gamma: 2, lengthPower: 1.1 };

export interface RankerOptions {
  readonly weights?: Partial<RankingWeights>;
  /** MMR trade-off: 1 = pure relevance, lower = more diverse (default 0.9). */
  readonly mmrLambda?: number;
  /** Candidates considered by MMR (default 200). */
  readonly mmrPool?: number;
  /** Exponent on buddy similarity in the support votes (default 1). */
  readonly supportPower?: number;
  /** Weight of recent engagement next to followers in cold-start popularity (default 1). */
  readonly engagementWeight?: number;
  /** Shape of the co-occurrence term (default {@link DEFAULT_COOCCURRENCE}). */
  readonly cooccurrence?: CooccurrenceOptions;
}

export const DEFAULT_RANKING_WEIGHTS: RankingWeights = { bpr: 0.5, familiarity: 0.5, novelty: 0.5, buddy: 1, support: 2, cooccurrence: 8 };

export interface RankRequest {
  readonly user: RankingUser;
  /** The user's buddies, most similar first (from the pairing index). */
  readonly buddies: readonly RankedBuddy[];
  readonly catalog: PlaylistCatalog;
  readonly k: number;
  /** Optional BPR scorer: raw scores for (user, playlists), or undefined when the user is unknown to the model. */
  readonly bpr?: (user: string, playlists: readonly string[]) => Float32Array | undefined;
}

export interface Ranker {
  readonly options: Readonly<Required<Omit<RankerOptions, 'weights' | 'cooccurrence'>>> & { readonly weights: RankingWeights; readonly cooccurrence: Required<CooccurrenceOptions> };
  /** Up to k recommendations, best first: personalised when the user has signal and buddies, else popular. */
  rank(req: RankRequest): Recommendation[];
}

export function createRanker(options: RankerOptions = {}): Ranker {
  const weights = { ...DEFAULT_RANKING_WEIGHTS, ...options.weights };
  const mmrLambda = options.mmrLambda ?? 0.9;
  const mmrPool = options.mmrPool ?? 200;
  const supportPower = options.supportPower ?? 1;
  const engagementWeight = options.engagementWeight ?? 1;
  const cooccurrence = { ...DEFAULT_COOCCURRENCE, ...options.cooccurrence };
  for (const [k, v] of Object.entries(weights)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`weight '${k}' must be a finite number >= 0, got ${v}`);
    if (!(k in DEFAULT_RANKING_WEIGHTS)) throw new RangeError(`unknown ranking weight '${k}'`);
  }
  if (!(mmrLambda >= 0 && mmrLambda <= 1)) throw new RangeError(`mmrLambda must be in [0, 1], got ${mmrLambda}`);
  if (!Number.isInteger(mmrPool) || mmrPool < 1) throw new RangeError(`mmrPool must be a positive integer`);
  if (!(supportPower > 0)) throw new RangeError('supportPower must be > 0');
  if (!(engagementWeight >= 0)) throw new RangeError('engagementWeight must be >= 0');
  for (const [k, v] of Object.entries(cooccurrence)) {
    if (!(k in DEFAULT_COOCCURRENCE)) throw new RangeError(`unknown co-occurrence option '${k}'`);
    if (!Number.isFinite(v) || v < 0 || (k === 'gamma' && v === 0)) throw new RangeError(`co-occurrence ${k} must be a finite number ${k === 'gamma' ? '>' : '>='} 0, got ${v}`);
  }
  const resolved = { weights, mmrLambda, mmrPool, supportPower, engagementWeight, cooccurrence };

  return {
    options: resolved,
    rank(req) {
      if (!Number.isInteger(req.k) || req.k < 0) throw new RangeError(`k must be an integer >= 0, got ${req.k}`);
      const personal = req.user.hasSignal && req.user.taste && req.buddies.length > 0
        ? reRank(scoreBuddyCandidates(req, resolved), req.k, mmrLambda, mmrPool)
        : [];
      if (personal.length >= req.k) return personal;
      const taken = new Set(personal.map((r) => r.playlistId));
      return [...personal, ...popularFallback(req, req.k - personal.length, taken, engagementWeight)];
    },
  };
}

interface Evidence {
  readonly buddy: RankedBuddy;
  readonly relation: 'made' | 'follows';
}

/** Candidate playlists: made or followed by a buddy, organic, not excluded for the user. */
export function gatherCandidates(user: RankingUser, buddies: readonly RankedBuddy[], catalog: PlaylistCatalog): Map<string, Evidence[]> {
  const out = new Map<string, Evidence[]>();
  for (const buddy of buddies) {
    if (buddy.id === user.id) continue;
    for (const [relation, ids] of [['made', catalog.madeBy(buddy.id)], ['follows', catalog.followedBy(buddy.id)]] as const) {
      for (const pid of ids) {
        if (user.excluded.has(pid)) continue;
        const p = catalog.get(pid);
        if (!p || !p.organic || p.owner === user.id) continue;
        const ev = out.get(pid);
        if (ev) ev.push({ buddy, relation });
        else out.set(pid, [{ buddy, relation }]);
      }
    }
  }
  return out;
}

/**
 * The co-occurrence term of each candidate, given their track lists (RP3beta over the candidates alone, so it needs nothing the live
 * catalogue lacks): each heard track sends weight df^-α to every candidate holding it (df: how many candidates hold
 * the track), scaled by that candidate's length^-α; each candidate passes its weight to its unheard tracks; a track's
 * chance is its weight over df^β, to the power γ; a candidate's raw score is the sum of its unheard tracks' chances
 * over its length to `lengthPower`. Scaled so the best candidate gets 1; all 0 when no candidate holds a heard track.
 */
export function cooccurrenceScores(user: RankingUser, lists: readonly (readonly string[])[], o: Required<CooccurrenceOptions>): Float64Array {
  // One pass over the strings numbers the distinct tracks (and asks `heard` once per track); the rest is typed arrays.
  const index = new Map<string, number>();
  const heardOf: boolean[] = [];
  let slots = 0;
  for (const tracks of lists) slots += tracks.length;
  const flat = new Int32Array(slots);
  let at = 0;
  for (const tracks of lists) {
    for (const t of tracks) {
      let j = index.get(t);
      if (j === undefined) {
        j = heardOf.length;
        index.set(t, j);
        heardOf.push(user.heard(t));
      }
      flat[at++] = j;
    }
  }
  const n = heardOf.length;
  const df = new Float64Array(n);
  for (let x = 0; x < slots; x++) df[flat[x]!]!++;
  const weight = new Float64Array(n);
  const out = new Float64Array(lists.length);
  let reached = false;
  at = 0;
  for (const tracks of lists) {
    const from = at;
    at += tracks.length;
    let mass = 0;
    for (let x = from; x < at; x++) if (heardOf[flat[x]!]) mass += Math.pow(df[flat[x]!]!, -o.alpha);
    if (mass === 0) continue;
    reached = true;
    mass *= Math.pow(tracks.length, -o.alpha);
    for (let x = from; x < at; x++) if (!heardOf[flat[x]!]) weight[flat[x]!]! += mass;
  }
  if (!reached) return out;
  // a track's chance: its weight over df^beta, to the power gamma (heard tracks and unreached ones stay 0)
  for (let j = 0; j < n; j++) if (weight[j]! > 0) weight[j] = Math.pow(weight[j]! / Math.pow(df[j]!, o.beta), o.gamma);
  let hi = 0;
  at = 0;
  lists.forEach((tracks, i) => {
    let sum = 0;
    for (const end = at + tracks.length; at < end; at++) sum += weight[flat[at]!]!;
    out[i] = sum / Math.pow(Math.max(1, tracks.length), o.lengthPower);
    hi = Math.max(hi, out[i]!);
  });
  if (hi > 0) for (let i = 0; i < out.length; i++) out[i]! /= hi;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

interface Scored {
  readonly playlist: PlaylistInfo;
  readonly score: number;
  readonly components: ScoreComponents;
  readonly explanation: RankingExplanation;
}

/** Scores every buddy candidate (before diversity re-ranking), best first. */
export function scoreBuddyCandidates(req: RankRequest, opts: Ranker['options']): Scored[] {
  const { user, catalog } = req;
  const w = opts.weights;
  const candidates = gatherCandidates(user, req.buddies, catalog);
  // Votes of the buddies for each unheard track of theirs, remembering each playlist's own vote so it can be left out.
  const votes = new Map<string, number>();
  let totalVote = 0;
  const ownVote = new Map<string, number>();
  for (const [pid, evidence] of candidates) {
    const p = catalog.get(pid)!;
    let v = 0;
    for (const e of evidence) v += Math.pow(Math.max(0, e.buddy.score), opts.supportPower);
    ownVote.set(pid, v);
    totalVote += v;
    for (const t of p.tracks) if (!user.heard(t)) votes.set(t, (votes.get(t) ?? 0) + v);
  }
  const ids = [...candidates.keys()];
  const infos = ids.map((pid) => catalog.get(pid)!);
  const raw = req.bpr && w.bpr > 0 ? req.bpr(user.id, ids) : undefined;
  const cooc = w.cooccurrence > 0 ? cooccurrenceScores(user, infos.map((p) => p.tracks), opts.cooccurrence) : undefined;
  const scored: Scored[] = ids.map((pid, i) => {
    const p = infos[i]!;
    const evidence = candidates.get(pid)!;
    const best = evidence.reduce((a, b) => (b.buddy.score > a.buddy.score ? b : a));
    const n = Math.max(1, p.tracks.length);
    let unheard = 0;
    let support = 0;
    const own = ownVote.get(pid)!;
    const others = totalVote - own;
    for (const t of p.tracks) {
      if (user.heard(t)) continue;
      unheard++;
      if (others > 0) support += ((votes.get(t) ?? 0) - own) / others;
    }
    const familiarity = user.taste && p.centroid ? Math.max(0, dot(user.taste, p.centroid)) : 0;
    const tasteMatch = user.taste && p.centroid && norm(p.centroid) > 0 ? Math.max(0, dot(user.taste, p.centroid) / norm(p.centroid)) : 0;
    const bpr = raw ? 1 / (1 + Math.exp(-raw[i]!)) : 0;
    const components: ScoreComponents = {
      bpr,
      familiarity,
      novelty: unheard / n,
      buddy: Math.max(0, best.buddy.score),
      support: support / n,
      cooccurrence: cooc ? cooc[i]! : 0,
      popularity: 0,
    };
    const score =
      w.bpr * components.bpr + w.familiarity * familiarity + w.novelty * components.novelty + w.buddy * components.buddy + w.support * components.support
      + w.cooccurrence * components.cooccurrence;
    return {
      playlist: p,
      score,
      components,
      explanation: { reason: 'buddy', buddy: best.buddy.id, relation: best.relation, tasteMatch: Math.round(tasteMatch * 100) },
    };
  });
  return scored.sort((a, b) => b.score - a.score || (a.playlist.id < b.playlist.id ? -1 : 1));
}

/**
 * Maximal marginal relevance over the best `pool` candidates: each pick maximises
 * λ·relevance − (1−λ)·max cosine to the playlists already picked (relevance min–max scaled to [0, 1]).
 */
export function reRank(scored: readonly Scored[], k: number, lambda: number, pool: number): Recommendation[] {
  const cands = scored.slice(0, Math.max(k, pool));
  if (cands.length === 0 || k === 0) return [];
  const hi = cands[0]!.score;
  const lo = cands[cands.length - 1]!.score;
  const rel = cands.map((c) => (hi > lo ? (c.score - lo) / (hi - lo) : 1));
  const unit = cands.map((c) => {
    const v = c.playlist.centroid;
    const nv = v ? norm(v) : 0;
    return v && nv > 0 ? v.map((x) => x / nv) : undefined;
  });
  const maxSim = new Float64Array(cands.length);
  const used = new Uint8Array(cands.length);
  const out: Recommendation[] = [];
  while (out.length < Math.min(k, cands.length)) {
    let bestI = -1;
    let bestV = -Infinity;
    for (let i = 0; i < cands.length; i++) {
      if (used[i]) continue;
      const v = lambda * rel[i]! - (1 - lambda) * maxSim[i]!;
      if (v > bestV) {
        bestV = v;
        bestI = i;
      }
    }
    used[bestI] = 1;
    const c = cands[bestI]!;
    out.push({ playlistId: c.playlist.id, score: c.score, components: c.components, explanation: c.explanation });
    const ub = unit[bestI];
    if (ub && lambda < 1) {
      for (let i = 0; i < cands.length; i++) {
        const ui = unit[i];
        if (!used[i] && ui) maxSim[i] = Math.max(maxSim[i]!, dot(ub, ui));
      }
    }
  }
  return out;
}

/** Cold start and top-up: popular organic playlists (followers and recent engagement) the user may see. */
export function popularFallback(req: RankRequest, k: number, taken: ReadonlySet<string>, engagementWeight: number): Recommendation[] {
  if (k <= 0) return [];
  const { user, catalog } = req;
  const out: Recommendation[] = [];
  let limit = k * 4 + user.excluded.size + taken.size;
  for (;;) {
    const ids = catalog.popular(limit);
    out.length = 0;
    for (const pid of ids) {
      if (taken.has(pid) || user.excluded.has(pid)) continue;
      const p = catalog.get(pid);
      if (!p || !p.organic || p.owner === user.id) continue;
      const popularity = Math.log1p(p.followers) + engagementWeight * Math.log1p(p.engagement);
      const tm = user.taste && p.centroid && norm(p.centroid) > 0 ? Math.max(0, dot(user.taste, p.centroid) / norm(p.centroid)) : 0;
      out.push({
        playlistId: pid,
        score: popularity,
        components: { bpr: 0, familiarity: 0, novelty: 1, buddy: 0, support: 0, cooccurrence: 0, popularity },
        explanation: { reason: 'popular', tasteMatch: Math.round(tm * 100) },
      });
      if (out.length === k) return out;
    }
    if (ids.length < limit) return out;
    limit *= 2;
  }
}
