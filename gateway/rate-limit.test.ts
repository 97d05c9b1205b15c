import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './rate-limit.js';

describe('createTokenBucket', () => {
  it('allows a burst, then the refill rate', () => {
    const b = createTokenBucket({ ratePerS: 10, burst: 3, now: 0 });
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(b.take(100)).toBe(false);
    // a long pause refills to the burst, not beyond
    expect(b.available(60_000)).toBe(3);
    let taken = 0;
    while (b.take(60_000)) taken++;
    expect(taken).toBe(3);
  });

  it('over a second of steady traffic lets through burst + rate messages', () => {
    const b = createTokenBucket({ ratePerS: 20, burst: 5, now: 0 });
    let ok = 0;
    for (let t = 0; t <= 1000; t += 1) if (b.take(t)) ok++;
    expect(ok).toBe(25);
  });

  it('ignores a clock that goes back and rejects bad options', () => {
    const b = createTokenBucket({ ratePerS: 1, burst: 1, now: 1000 });
    expect(b.take(1000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(() => createTokenBucket({ ratePerS: 0, burst: 1, now: 0 })).toThrow(RangeError);
    expect(() => createTokenBucket({ ratePerS: 1, burst: 0.5, now: 0 })).toThrow(RangeError);
  });
});
