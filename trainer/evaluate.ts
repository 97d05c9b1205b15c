import { createHash } from 'node:crypto';
import { topK, type BprFactors } from '../models/bpr/index.js';
import { ndcgAtK, recallAtK } from '../models/eval/index.js';
import type { TrainingData } from './training-set.js';

/** A model's numbers on the held-out window. */
export interface HeldOutMetrics {
  /** NDCG@k (binary relevance), mean over the evaluated users. */
  readonly ndcg: number;
  readonly recall: number;
  /** Per user, the share of (relevant, other) playlist pairs the model orders right (ties count half), averaged. */
  readonly auc: number;
  /** Users evaluated. */
  readonly users: number;
  readonly k: number;
}

export interface EvaluateOptions {
  /** Cut-off of NDCG and recall (default 10). */
  readonly k?: number;
  /** At most this many held-out users, chosen by a hash of their id (the same for every model; default 2000). */
  readonly maxUsers?: number;
}

export const DEFAULT_EVAL_K = 10;
export const DEFAULT_EVAL_USERS = 2000;

/** The held-out users evaluated: all, or the `max` with the smallest hash of their id (stable across runs and models). */
export function evaluationUsers(d: TrainingData, max: number): TrainingData['heldOut'] {
  if (d.heldOut.length <= max) return d.heldOut;
  const h = (id: string) => createHash('sha1').update(id).digest().readUInt32BE(0);
  return [...d.heldOut].map((u) => [h(u.userId), u] as const).sort((a, b) => a[0] - b[0] || (a[1].userId < b[1].userId ? -1 : 1)).slice(0, max).map(([, u]) => u);
}

/**
 * Scores a model on the snapshot's held-out window. The universe ranked is every playlist of the snapshot
 * (training and held-out); the user's training playlists are left out of the ranking (they are not what is
 * asked for). Playlists the model does not know score −∞ (it cannot recommend them); a user it does not know
 * gets no list (NDCG 0, AUC ½). Both models of a comparison are scored on the same users and universe, so the
 * numbers compare. `factors` undefined is a model that knows nothing.
 */
export function evaluateHeldOut(factors: BprFactors | undefined, d: TrainingData, opts: EvaluateOptions = {}): HeldOutMetrics {
  const k = opts.k ?? DEFAULT_EVAL_K;
  const users = evaluationUsers(d, opts.maxUsers ?? DEFAULT_EVAL_USERS);
  const universe = [...d.items, ...d.heldOutOnlyItems];
  const n = universe.length;
  // the model's row of each universe playlist (−1: unknown)
  const rowOf = Int32Array.from(universe, (id) => factors?.items.indexOf(id) ?? -1);
  const trainUser = new Map(d.users.map((u, i) => [u, i]));
  // training playlists of each user (universe indices = training item indices)
  const trainRows = new Map<number, number[]>();
  for (let j = 0; j < d.weights.length; j++) {
    const u = d.pairs[2 * j]!;
    let r = trainRows.get(u);
    if (!r) trainRows.set(u, (r = []));
    r.push(d.pairs[2 * j + 1]!);
  }
  const universeIndex = new Map(universe.map((id, i) => [id, i]));
  const scores = new Float32Array(n);
  let ndcg = 0;
  let recall = 0;
  let auc = 0;
  for (const hu of users) {
    const relevant = new Set<number>();
    for (const id of hu.relevant) {
      const i = universeIndex.get(id);
      if (i !== undefined) relevant.add(i);
    }
    const excluded = new Set(trainRows.get(trainUser.get(hu.userId) ?? -1) ?? []);
    const mu = factors?.users.indexOf(hu.userId);
    if (factors === undefined || mu === undefined) {
      auc += 0.5;
      continue;
    }
    const { stride, userFactors: U, itemFactors: V } = factors;
    const uo = mu * stride;
    for (let i = 0; i < n; i++) {
      const r = rowOf[i]!;
      if (excluded.has(i)) scores[i] = -Infinity;
      else if (r < 0) scores[i] = -3.4e38; // unknown: below every known playlist, above the excluded ones
      else {
        let s = 0;
        const io = r * stride;
        for (let c = 0; c < stride; c++) s += U[uo + c]! * V[io + c]!;
        scores[i] = s;
      }
    }
    const ranked = topK(scores, k).items;
    const known = Array.from(ranked).filter((i) => rowOf[i]! >= 0);
    ndcg += ndcgAtK(known, relevant, k);
    recall += recallAtK(known, relevant, k);
    // AUC over the candidates (the universe less the training playlists)
    let pairs = 0;
    let right = 0;
    for (const p of relevant) {
      const sp = scores[p]!;
      for (let i = 0; i < n; i++) {
        if (relevant.has(i) || excluded.has(i)) continue;
        pairs++;
        const si = scores[i]!;
        if (sp > si) right++;
        else if (sp === si) right += 0.5;
      }
    }
    auc += pairs > 0 ? right / pairs : 0.5;
  }
  const m = users.length;
  return { ndcg: m ? ndcg / m : 0, recall: m ? recall / m : 0, auc: m ? auc / m : 0, users: m, k };
}
