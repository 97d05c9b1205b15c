import { createTasteModel, type TasteModel, type TasteState } from '../taste/index.js';

/** One item of an offline history and how much it counts (default 1). */
export interface HistoryItem {
  readonly item: string;
  readonly weight?: number;
}

/** How a play count weighs its item in an offline taste. */
export type CountWeighting = 'log1p' | 'linear' | 'binary';

export const COUNT_WEIGHTINGS: readonly CountWeighting[] = ['log1p', 'linear', 'binary'];

/** The weight of an item played `count` times: log(1 + count) (default), the count itself, or 1. Never negative. */
export function countWeight(count: number, weighting: CountWeighting = 'log1p'): number {
  const c = Math.max(0, count);
  if (weighting === 'binary') return 1;
  if (weighting === 'linear') return c;
  if (weighting === 'log1p') return Math.log1p(c);
  throw new RangeError(`unknown weighting '${String(weighting)}'`);
}

/**
 * The taste model of offline users (an MPD seed, a playlist's owner, a Last.fm listener): the live model
 * (`createTasteModel`, default weights and half-life) without the recent ring, which only a live user replays; a user
 * is personalised from `minSignal` items with an embedding.
 */
export function offlineTasteModel(dims: number, minSignal = 1): TasteModel {
  return createTasteModel({ dims, minSignal, recentCapacity: 0 });
}

/**
 * An offline history folded into the decayed taste model: each item a `play` event at the one time `at` (offline
 * histories are undated), with its weight as the event's multiplier (1 for a track of an MPD seed or of an owner's
 * playlist; {@link countWeight} of the play count for a Last.fm artist). At one time nothing decays, so the taste is
 * the unit weighted mean of the items' vectors: what the live model holds for a user who played those items at the
 * same moment. Pass each item once (a repeated item counts again).
 */
export function historyTaste(
  model: TasteModel,
  history: Iterable<HistoryItem>,
  vectorOf: (item: string) => Float32Array | undefined,
  at = 0,
): TasteState {
  let state = model.empty();
  for (const h of history) state = model.update(state, { kind: 'play', itemId: h.item, vector: vectorOf(h.item), at, weight: h.weight ?? 1 });
  return state;
}
