import { describe, expect, it } from 'vitest';
import { createBatchSizer } from './batching.js';

/** Runs a backlog through the sizer with a simulated cost per batch; returns the batch sizes. */
function drain(backlog: number, cost: (size: number) => number, sizer = createBatchSizer({ initial: 10, targetMs: 100, max: 1000 })): number[] {
  const sizes: number[] = [];
  let left = backlog;
  while (left > 0) {
    const n = sizer.next(left);
    sizes.push(n);
    sizer.record(n, cost(n));
    left -= n;
  }
  return sizes;
}

// Issue 10, part 5: Top Picks batch sizes adapt to the backlog and the measured time per batch.
describe('createBatchSizer', () => {
  it('grows by at most the growth factor per batch towards the size that fits the target', () => {
    const sizes = drain(5000, (n) => n * 0.5); // 0.5 ms per item: 200 items fit in 100 ms
    expect(sizes.slice(0, 4)).toEqual([10, 20, 40, 80]);
    expect(sizes.slice(5, 10)).toEqual([200, 200, 200, 200, 200]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it('shrinks at once when batches get slower than the target', () => {
    const sizer = createBatchSizer({ initial: 400, targetMs: 100, smoothing: 1 });
    sizer.record(400, 100); // 0.25 ms per item: on target
    expect(sizer.size).toBe(400);
    sizer.record(400, 800); // 2 ms per item now
    expect(sizer.size).toBe(50);
    expect(sizer.msPerItem).toBe(2);
  });

  it('smooths one slow outlier instead of collapsing the size', () => {
    const sizer = createBatchSizer({ initial: 100, targetMs: 100, smoothing: 0.25 });
    sizer.record(100, 100); // 1 ms per item
    sizer.record(100, 500); // one slow batch: 5 ms per item
    expect(sizer.size).toBe(50); // mean 2 ms per item, not 5
  });

  it('never exceeds the backlog, takes a small remainder whole and stays within min and max', () => {
    const sizer = createBatchSizer({ initial: 100, min: 5, max: 120, targetMs: 1000 });
    expect(sizer.next(0)).toBe(0);
    expect(sizer.next(30)).toBe(30);
    expect(sizer.next(140)).toBe(100); // 140 ≤ 1.5 × 100 but above max 120: not whole
    expect(sizer.next(149)).toBe(100);
    expect(sizer.next(120)).toBe(120); // ≤ 1.5 × size and ≤ max: whole
    sizer.record(100, 1); // very fast: would grow to 1e5, capped by growth and max
    expect(sizer.size).toBe(120);
    sizer.record(120, 1e6); // very slow
    expect(sizer.size).toBe(5);
  });

  it('rejects bad options and reports', () => {
    expect(() => createBatchSizer({ min: 10, max: 5 })).toThrow(/min/);
    expect(() => createBatchSizer({ targetMs: 0 })).toThrow(/targetMs/);
    expect(() => createBatchSizer({ maxGrowth: 1 })).toThrow(/maxGrowth/);
    expect(() => createBatchSizer({ smoothing: 0 })).toThrow(/smoothing/);
    expect(() => createBatchSizer().record(0, 5)).toThrow(/size/);
    expect(() => createBatchSizer().record(5, Number.NaN)).toThrow(/ms/);
    expect(() => createBatchSizer().next(-1)).toThrow(/backlog/);
  });
});
