import type { HiddenTaste } from './reaction.js';

/** Moves a share of every affected user's interest from one community to another (a taste drift). */
export interface TasteShift {
  readonly from: number;
  readonly to: number;
  /** Share of the `from` weight that moves, 0..1 (1: the community is abandoned for `to`). */
  readonly fraction: number;
  /** Simulated time at which the shift takes effect (epoch ms); used by {@link tasteAt}. */
  readonly atMs?: number;
}

/**
 * The taste after a shift: `fraction` of the weight on `from` moves to `to` (added to it, or `to` joins the
 * taste). Users without `from` are unchanged. Pure; the result's weights keep the same total, strongest first.
 */
export function shiftTaste(taste: HiddenTaste, shift: TasteShift): HiddenTaste {
  if (!(shift.fraction >= 0 && shift.fraction <= 1)) throw new RangeError(`shift fraction must be in 0..1, got ${shift.fraction}`);
  const i = taste.communities.indexOf(shift.from);
  if (i < 0 || shift.from === shift.to || shift.fraction === 0) return taste;
  const pairs = taste.communities.map((c, k) => ({ c, w: taste.weights[k] ?? 0 }));
  const moved = (pairs[i] as { w: number }).w * shift.fraction;
  (pairs[i] as { w: number }).w -= moved;
  const j = pairs.findIndex((p) => p.c === shift.to);
  if (j >= 0) (pairs[j] as { w: number }).w += moved;
  else pairs.push({ c: shift.to, w: moved });
  const kept = pairs.filter((p) => p.w > 1e-12).sort((a, b) => b.w - a.w || a.c - b.c);
  return { communities: kept.map((p) => p.c), weights: kept.map((p) => p.w) };
}

/** The taste in effect at `nowMs`: every shift whose `atMs` (default 0) has passed, applied in order. */
export function tasteAt(taste: HiddenTaste, shifts: readonly TasteShift[], nowMs: number): HiddenTaste {
  let t = taste;
  for (const s of shifts) if ((s.atMs ?? 0) <= nowMs) t = shiftTaste(t, s);
  return t;
}
