import type { EmbeddingTrainerOptions } from '../embeddings/index.js';
import { holdoutSplit, itemCounts, rowOf, type InteractionMatrix } from '../interactions.js';
import { computeNeighbors, type PairingIndexKind } from '../pipeline/index.js';
import { createRng } from '../random.js';
import { countWeight, randomPicks, type CountWeighting } from '../recommend/index.js';
import { ndcgAtK, recallAtK } from './metrics.js';

/**
 * Protocol (c): how well a way of finding neighbours finds users who share a user's taste. Of every user with at
 * least 2 items a seeded share is held out (as in protocol (b)); neighbours are found from the training half only,
 * and scored by how well the neighbours' training items recover the user's held-out ones:
 *
 * - neighbour recall@K: the share of the held-out items that at least one of the K neighbours has;
 * - recall@N and NDCG@N of the neighbours' vote: the items of the K neighbours that the user does not have, by the
 *   number of neighbours who have them (ties: more training users, then index). Every neighbour votes 1, so the
 *   list depends on who the neighbours are, not on the scale of a method's similarity scores.
 *
 * Methods: the project's pairing (item embeddings learned from the training histories, the decayed taste model fed
 * each item as a play weighted by its count, the pairing index: `computeNeighbors`, what `buddies offline neighbors`
 * runs), plain cosine between users' log(1 + count) item vectors, and K random users as a floor.
 */

/** A neighbour by user index, with its similarity. */
export interface IndexedNeighbor {
  readonly user: number;
  readonly score: number;
}

/**
 * Exact cosine KNN between the rows of `m` as vectors of weight(count) (default log(1 + count)) for each user of
 * `users`, the user left out. Only users sharing an item (cosine > 0) are returned, best first, ties by index.
 */
export function cosineNeighbors(m: InteractionMatrix, users: ArrayLike<number>, k: number, weighting: CountWeighting = 'log1p'): IndexedNeighbor[][] {
  const nUsers = m.users.ids.length;
  const nItems = m.items.ids.length;
  const w = Float64Array.from(m.weights, (x) => countWeight(x, weighting));
  const norm = new Float64Array(nUsers);
  for (let u = 0; u < nUsers; u++) {
    let s = 0;
    for (let j = m.indptr[u]!; j < m.indptr[u + 1]!; j++) s += w[j]! * w[j]!;
    norm[u] = Math.sqrt(s);
  }
  // the columns: users of each item with their weights
  const colPtr = new Int32Array(nItems + 1);
  for (let j = 0; j < m.nnz; j++) colPtr[m.indices[j]! + 1]!++;
  for (let i = 0; i < nItems; i++) colPtr[i + 1]! += colPtr[i]!;
  const colUser = new Int32Array(m.nnz);
  const colW = new Float64Array(m.nnz);
  const fill = colPtr.slice(0, nItems);
  for (let u = 0; u < nUsers; u++) {
    for (let j = m.indptr[u]!; j < m.indptr[u + 1]!; j++) {
      const p = fill[m.indices[j]!]!++;
      colUser[p] = u;
      colW[p] = w[j]!;
    }
  }
  const acc = new Float64Array(nUsers);
  const out: IndexedNeighbor[][] = [];
  for (let q = 0; q < users.length; q++) {
    const u = users[q]!;
    const touched: number[] = [];
    for (let j = m.indptr[u]!; j < m.indptr[u + 1]!; j++) {
      const i = m.indices[j]!;
      for (let p = colPtr[i]!; p < colPtr[i + 1]!; p++) {
        const v = colUser[p]!;
        if (v === u || colW[p] === 0 || w[j] === 0) continue;
        if (acc[v] === 0) touched.push(v);
        acc[v]! += w[j]! * colW[p]!;
      }
    }
    const found = touched.map((v) => ({ user: v, score: acc[v]! / (norm[u]! * norm[v]!) }));
    for (const v of touched) acc[v] = 0;
    out.push(found.sort((a, b) => b.score - a.score || a.user - b.user).slice(0, k));
  }
  return out;
}

/** K distinct random other users for each user (seeded): the floor any method should clear. */
export function randomNeighbors(nUsers: number, users: ArrayLike<number>, k: number, seed: number): IndexedNeighbor[][] {
  const rng = createRng(seed);
  return Array.from(users, (u) => randomPicks(nUsers, k, (v) => v === u, rng.next).map((v) => ({ user: v, score: 0 })));
}

/**
 * The neighbours' vote for `user`: items of the neighbours that the user does not have in `train`, by the number of
 * neighbours who have them, ties by `popularity` (higher first), then index; the first `n`.
 */
export function neighborVote(train: InteractionMatrix, user: number, neighbors: readonly number[], n: number, popularity: ArrayLike<number>): number[] {
  const own = new Set(rowOf(train, user));
  const votes = new Map<number, number>();
  for (const v of neighbors) for (const i of rowOf(train, v)) if (!own.has(i)) votes.set(i, (votes.get(i) ?? 0) + 1);
  return [...votes]
    .sort((a, b) => b[1] - a[1] || popularity[b[0]]! - popularity[a[0]]! || a[0] - b[0])
    .slice(0, n)
    .map(([i]) => i);
}

/** Share of `heldOut` held by at least one of the neighbours in `train` (0 when nothing is held out). */
export function neighborRecall(train: InteractionMatrix, neighbors: readonly number[], heldOut: ReadonlySet<number>): number {
  if (heldOut.size === 0) return 0;
  const found = new Set<number>();
  for (const v of neighbors) for (const i of rowOf(train, v)) if (heldOut.has(i)) found.add(i);
  return found.size / heldOut.size;
}

export interface NeighborsEvalOptions {
  /** Held-out share per user (default 0.2). */
  readonly holdout?: number;
  /** Split seed, and the random neighbours' seed (default 42). */
  readonly seed?: number;
  /** Neighbour counts K (default [10, 50]). */
  readonly ks?: readonly number[];
  /** Length of the vote list scored (default 10). */
  readonly at?: number;
  /** Item embeddings of the pairing (defaults of the trainer: PPMI + SVD, 64 dims, min count 2). */
  readonly embeddings?: EmbeddingTrainerOptions;
  readonly index?: PairingIndexKind;
  readonly threads?: number;
  /** How a play count weighs its item, in the taste and in the cosine (default log1p). */
  readonly weighting?: CountWeighting;
  readonly log?: (msg: string) => void;
}

export interface NeighborsEvalRow {
  readonly method: string;
  readonly k: number;
  /** `neighbour-recall`, `recall@N`, `ndcg@N`, means over test users (0 for a user without neighbours). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Test users for whom the method found fewer than K neighbours (none: no embedded item, or no shared item). */
  readonly short: number;
  /** Seconds to find the neighbours (embeddings and index included for the pairing), once per method. */
  readonly seconds: number;
}

export interface NeighborsEvalResult {
  readonly protocol: 'neighbors-holdout';
  readonly holdout: number;
  readonly seed: number;
  readonly ks: readonly number[];
  readonly at: number;
  readonly weighting: CountWeighting;
  readonly users: number;
  readonly items: number;
  readonly trainInteractions: number;
  readonly testInteractions: number;
  readonly testUsers: number;
  readonly rows: readonly NeighborsEvalRow[];
}

export async function runNeighborsEval(m: InteractionMatrix, options: NeighborsEvalOptions = {}): Promise<NeighborsEvalResult> {
  const holdout = options.holdout ?? 0.2;
  const seed = options.seed ?? 42;
  const ks = options.ks ?? [10, 50];
  const at = options.at ?? 10;
  const weighting = options.weighting ?? 'log1p';
  const log = options.log ?? (() => {});
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new RangeError(`ks must be positive integers, got ${ks.join(',')}`);
  if (!Number.isInteger(at) || at < 1) throw new RangeError(`at must be a positive integer, got ${at}`);
  const { train, test } = holdoutSplit(m, { fraction: holdout, seed });
  const nUsers = m.users.ids.length;
  const users = Int32Array.from({ length: nUsers }, (_, u) => u).filter((u) => test.indptr[u + 1]! > test.indptr[u]!);
  const heldOut = Array.from(users, (u) => new Set(rowOf(test, u)));
  const popularity = itemCounts(train);
  const kMax = Math.max(...ks);
  log(`neighbors: ${users.length} test users; ${train.nnz} training and ${test.nnz} held-out interactions`);

  const rows: NeighborsEvalRow[] = [];
  const score = (method: string, found: readonly (readonly IndexedNeighbor[])[], seconds: number) => {
    for (const k of ks) {
      let nr = 0;
      let rc = 0;
      let nd = 0;
      let short = 0;
      users.forEach((u, q) => {
        const ns = found[q]!.slice(0, k).map((x) => x.user);
        if (ns.length < k) short++;
        const rel = heldOut[q]!;
        nr += neighborRecall(train, ns, rel);
        const list = neighborVote(train, u, ns, at, popularity);
        rc += recallAtK(list, rel, at);
        nd += ndcgAtK(list, rel, at);
      });
      const n = Math.max(1, users.length);
      const metrics = { 'neighbour-recall': nr / n, [`recall@${at}`]: rc / n, [`ndcg@${at}`]: nd / n };
      rows.push({ method, k, metrics, short, seconds });
      log(`${method}, K ${k}: neighbour recall ${(nr / n).toFixed(4)}, recall@${at} ${(rc / n).toFixed(4)}, ndcg@${at} ${(nd / n).toFixed(4)} (${short} users with fewer than K)`);
    }
  };

  // (a) the project's taste and pairing, learned from the training half only
  let t0 = performance.now();
  const trainRows = function* () {
    for (let u = 0; u < nUsers; u++) {
      for (let j = train.indptr[u]!; j < train.indptr[u + 1]!; j++) yield { user: m.users.ids[u]!, item: m.items.ids[train.indices[j]!]!, weight: train.weights[j]! };
    }
  };
  const { neighbors } = await computeNeighbors(trainRows(), {
    k: kMax, weighting, log, ...(options.embeddings ? { embeddings: options.embeddings } : {}),
    ...(options.index ? { index: options.index } : {}), ...(options.threads ? { threads: options.threads } : {}),
  });
  const paired = Array.from(users, (u) => (neighbors.get(m.users.ids[u]!) ?? []).map((x) => ({ user: m.users.indexOf(x.id)!, score: x.score })));
  const method = options.embeddings?.method ?? 'ppmi-svd';
  score(`taste pairing (${method}, ${options.index ?? 'exact'})`, paired, (performance.now() - t0) / 1000);

  // (b) plain cosine over log-scaled play counts
  t0 = performance.now();
  const cosine = cosineNeighbors(train, users, kMax, weighting);
  score(`cosine of ${weighting === 'log1p' ? 'log(1+count)' : weighting} vectors`, cosine, (performance.now() - t0) / 1000);

  // (c) the floor
  t0 = performance.now();
  score('random users', randomNeighbors(nUsers, users, kMax, seed), (performance.now() - t0) / 1000);

  return {
    protocol: 'neighbors-holdout', holdout, seed, ks, at, weighting,
    users: nUsers, items: m.items.ids.length, trainInteractions: train.nnz, testInteractions: test.nnz, testUsers: users.length, rows,
  };
}

/** The result as a Markdown table. */
export function formatNeighborsTable(r: NeighborsEvalResult): string {
  const cols = Object.keys(r.rows[0]?.metrics ?? {});
  return [
    `| method | K | ${cols.join(' | ')} | users with fewer than K | seconds |`,
    `|---|---:|${cols.map(() => '---:').join('|')}|---:|---:|`,
    ...r.rows.map((x) => `| ${x.method} | ${x.k} | ${cols.map((c) => (x.metrics[c] ?? NaN).toFixed(4)).join(' | ')} | ${x.short} | ${x.seconds.toFixed(1)} |`),
    '',
  ].join('\n');
}
