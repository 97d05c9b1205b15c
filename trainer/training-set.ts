import { createHash } from 'node:crypto';
import { createIdMap, fromCoo, type InteractionMatrix } from '../models/interactions.js';
import type { InteractionWindow } from '../streams/index.js';

/** One user of the held-out window: the playlists they took to in it that they had not in training. */
export interface HeldOutUser {
  readonly userId: string;
  readonly relevant: readonly string[];
}

/**
 * What one training run trains and evaluates on, frozen: persisted with the run (snapshot.json) so that a run
 * resumed after a crash trains on exactly the same data. Ids are sorted, so the same windows give the same
 * snapshot (and hash) in whatever order they were read.
 */
export interface TrainingData {
  readonly format: 'buddies-trainer-snapshot';
  readonly formatVersion: 1;
  /** Where the windows came from (`kafka:<interaction-window topic>`). */
  readonly source: string;
  /** Training users and playlists (the matrix's id maps, in index order). */
  readonly users: readonly string[];
  readonly items: readonly string[];
  /** Positive (user, playlist) pairs as index pairs: [u0, i0, u1, i1, …], with their summed weights. */
  readonly pairs: readonly number[];
  readonly weights: readonly number[];
  /** Playlists seen only in the held-out window: part of the ranking universe of the evaluation, not of training. */
  readonly heldOutOnlyItems: readonly string[];
  readonly heldOut: readonly HeldOutUser[];
  /** Event time covered (epoch ms): training windows [trainFrom, trainTo), the held-out window [heldOutStart, heldOutEnd). */
  readonly trainFrom: number;
  readonly trainTo: number;
  readonly heldOutStart: number;
  readonly heldOutEnd: number;
  readonly trainWindows: number;
  readonly heldOutWindows: number;
  /** sha256 (16 hex) of the ids, pairs and held-out users: the registry's dataWindow.hash. */
  readonly hash: string;
}

export interface TrainingDataOptions {
  readonly source: string;
  /** A (user, playlist) is a positive when its weight summed over the training windows is above this (default 0). */
  readonly minWeight?: number;
}

/** Not enough windows to train and evaluate: the run is skipped with this reason. */
export class NotEnoughDataError extends Error {
  override readonly name = 'NotEnoughDataError';
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Splits the held windows into training data and a held-out window, the most recent one (the latest
 * windowStart), which is not trained on. Per (user, playlist) the weights of the training windows are summed;
 * above `minWeight` it is a positive (BPR is trained on positives only; skips and dismissals that outweigh the
 * plays make it no positive). The held-out users are training users with a positive in the held-out window
 * that they had not in training (what a recommender of new playlists is asked to find).
 * Throws {@link NotEnoughDataError} without at least two distinct windowStarts or without a training positive.
 */
export function buildTrainingData(windows: readonly InteractionWindow[], opts: TrainingDataOptions): TrainingData {
  const minWeight = opts.minWeight ?? 0;
  if (windows.length === 0) throw new NotEnoughDataError('no interaction windows yet');
  let heldOutStart = -Infinity;
  for (const w of windows) if (w.windowStart > heldOutStart) heldOutStart = w.windowStart;
  const train = windows.filter((w) => w.windowStart < heldOutStart);
  const held = windows.filter((w) => w.windowStart === heldOutStart);
  if (train.length === 0) throw new NotEnoughDataError('only one window of interactions: the latest is held out for evaluation, so there is nothing to train on yet');
  const sums = new Map<string, Map<string, number>>();
  for (const w of train) {
    let row = sums.get(w.userId);
    if (!row) sums.set(w.userId, (row = new Map()));
    for (const i of w.interactions) row.set(i.playlistId, (row.get(i.playlistId) ?? 0) + i.weight);
  }
  const positives = new Map<string, Map<string, number>>();
  for (const [u, row] of sums) {
    const pos = new Map([...row].filter(([, wt]) => wt > minWeight));
    if (pos.size > 0) positives.set(u, pos);
  }
  if (positives.size === 0) throw new NotEnoughDataError('no positive interaction in the training windows');
  const users = [...positives.keys()].sort(byCode);
  const itemSet = new Set<string>();
  for (const row of positives.values()) for (const i of row.keys()) itemSet.add(i);
  const items = [...itemSet].sort(byCode);
  const itemIndex = new Map(items.map((id, i) => [id, i]));
  const pairs: number[] = [];
  const weights: number[] = [];
  users.forEach((u, ui) => {
    const row = positives.get(u)!;
    for (const i of [...row.keys()].sort(byCode)) {
      pairs.push(ui, itemIndex.get(i)!);
      weights.push(row.get(i)!);
    }
  });
  const heldOut: HeldOutUser[] = [];
  const extra = new Set<string>();
  const heldSums = new Map<string, Map<string, number>>();
  for (const w of held) {
    let row = heldSums.get(w.userId);
    if (!row) heldSums.set(w.userId, (row = new Map()));
    for (const i of w.interactions) row.set(i.playlistId, (row.get(i.playlistId) ?? 0) + i.weight);
  }
  for (const u of [...heldSums.keys()].sort(byCode)) {
    const row = heldSums.get(u)!;
    for (const [i, wt] of row) if (wt > minWeight && !itemIndex.has(i)) extra.add(i);
    const known = positives.get(u);
    if (!known) continue;
    const relevant = [...row].filter(([i, wt]) => wt > minWeight && !known.has(i)).map(([i]) => i).sort(byCode);
    if (relevant.length > 0) heldOut.push({ userId: u, relevant });
  }
  const heldOutOnlyItems = [...extra].sort(byCode);
  const hash = createHash('sha256').update(JSON.stringify([users, items, pairs, weights, heldOutOnlyItems, heldOut])).digest('hex').slice(0, 16);
  return {
    format: 'buddies-trainer-snapshot',
    formatVersion: 1,
    source: opts.source,
    users,
    items,
    pairs,
    weights,
    heldOutOnlyItems,
    heldOut,
    trainFrom: Math.min(...train.map((w) => w.windowStart)),
    trainTo: Math.max(...train.map((w) => w.windowEnd)),
    heldOutStart,
    heldOutEnd: Math.max(...held.map((w) => w.windowEnd)),
    trainWindows: train.length,
    heldOutWindows: held.length,
    hash,
  };
}

/** The training matrix of a snapshot (users × playlists, the positives). */
export function trainingMatrix(d: TrainingData): InteractionMatrix {
  const n = d.weights.length;
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    rows[j] = d.pairs[2 * j]!;
    cols[j] = d.pairs[2 * j + 1]!;
  }
  return fromCoo(createIdMap(d.users), createIdMap(d.items), rows, cols, Float32Array.from(d.weights));
}

/** Checks a snapshot read back from disk (format, sizes) before a resumed run trusts it. */
export function checkTrainingData(d: TrainingData): void {
  if (d.format !== 'buddies-trainer-snapshot' || d.formatVersion !== 1) throw new Error(`not a trainer snapshot (format ${String(d.format)} ${String(d.formatVersion)})`);
  if (d.pairs.length !== 2 * d.weights.length) throw new Error('snapshot pairs and weights disagree');
  const hash = createHash('sha256').update(JSON.stringify([d.users, d.items, d.pairs, d.weights, d.heldOutOnlyItems, d.heldOut])).digest('hex').slice(0, 16);
  if (hash !== d.hash) throw new Error(`snapshot content hash ${hash} does not match its recorded ${d.hash}`);
}
