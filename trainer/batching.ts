/**
 * Dynamic batch sizes for a backlog of work (the Top Picks batch): a target-latency controller. After each batch
 * the measured time per item (an exponentially weighted mean) sets the next size to what fits in `targetMs`;
 * growth is limited to `maxGrowth` times per batch (a slow start, so one fast batch does not jump to the maximum),
 * while a batch slower than the target shrinks the next one at once. The backlog bounds it: a batch never holds
 * more than is left, and a small remainder (up to `tailFactor` times the size) is taken whole instead of leaving a
 * tiny last batch. Pure: the caller measures and reports; nothing here reads a clock.
 */
export interface BatchSizerOptions {
  /** Size of the first batch (default 64). */
  readonly initial?: number;
  /** Smallest size (default 1). */
  readonly min?: number;
  /** Largest size (default 4096). */
  readonly max?: number;
  /** Wall time one batch should take, in ms (default 500). */
  readonly targetMs?: number;
  /** Most a size may grow from one batch to the next, as a factor > 1 (default 2). */
  readonly maxGrowth?: number;
  /** Weight of the newest measurement in the mean time per item, in (0, 1] (default 0.5). */
  readonly smoothing?: number;
  /** A backlog up to this many times the size is taken as one batch, ≥ 1 (default 1.5). */
  readonly tailFactor?: number;
}

export const DEFAULT_BATCH_SIZER_OPTIONS = {
  initial: 64, min: 1, max: 4096, targetMs: 500, maxGrowth: 2, smoothing: 0.5, tailFactor: 1.5,
} as const satisfies Required<BatchSizerOptions>;

export interface BatchSizer {
  /** How many of `backlog` items the next batch takes (0 when the backlog is empty). */
  next(backlog: number): number;
  /** Reports a finished batch: its size and wall time. Sizes the following batches. */
  record(size: number, ms: number): void;
  /** The size the controller aims at now (before the backlog bounds it). */
  readonly size: number;
  /** The mean time per item it has measured, or undefined before the first batch. */
  readonly msPerItem: number | undefined;
}

export function createBatchSizer(options: BatchSizerOptions = {}): BatchSizer {
  const o = { ...DEFAULT_BATCH_SIZER_OPTIONS, ...options };
  for (const [name, v] of [['initial', o.initial], ['min', o.min], ['max', o.max]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  if (o.min > o.max) throw new RangeError(`min (${o.min}) must not exceed max (${o.max})`);
  if (!(o.targetMs > 0) || !Number.isFinite(o.targetMs)) throw new RangeError(`targetMs must be a positive number, got ${o.targetMs}`);
  if (!(o.maxGrowth > 1) || !Number.isFinite(o.maxGrowth)) throw new RangeError(`maxGrowth must be a number above 1, got ${o.maxGrowth}`);
  if (!(o.smoothing > 0 && o.smoothing <= 1)) throw new RangeError(`smoothing must be in (0, 1], got ${o.smoothing}`);
  if (!(o.tailFactor >= 1) || !Number.isFinite(o.tailFactor)) throw new RangeError(`tailFactor must be a number ≥ 1, got ${o.tailFactor}`);
  const clamp = (n: number) => Math.max(o.min, Math.min(o.max, Math.round(n)));
  let size = clamp(o.initial);
  let perItem: number | undefined;
  return {
    get size() { return size; },
    get msPerItem() { return perItem; },
    next(backlog) {
      if (!Number.isInteger(backlog) || backlog < 0) throw new RangeError(`backlog must be an integer ≥ 0, got ${backlog}`);
      if (backlog <= size * o.tailFactor && backlog <= o.max) return backlog;
      return Math.min(size, backlog);
    },
    record(n, ms) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`size must be a positive integer, got ${n}`);
      if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ms must be a finite number ≥ 0, got ${ms}`);
      const measured = Math.max(ms, 1e-3) / n;
      perItem = perItem === undefined ? measured : o.smoothing * measured + (1 - o.smoothing) * perItem;
      const fit = o.targetMs / perItem;
      // grow slowly from the size just measured; shrink at once when the target was missed
      size = clamp(Math.min(fit, Math.max(size, n) * o.maxGrowth));
    },
  };
}
