/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerS` per second; each message takes one. Pure (the
 * clock is handed in), one per connection, a few numbers of state.
 */
export interface TokenBucket {
  /** Takes a token at time `now` (epoch ms): true if there was one, false if the message is over the limit. */
  take(now: number): boolean;
  /** Tokens left at `now`. */
  available(now: number): number;
}

export function createTokenBucket(opts: { readonly ratePerS: number; readonly burst: number; readonly now: number }): TokenBucket {
  if (!(opts.ratePerS > 0) || !Number.isFinite(opts.ratePerS)) throw new RangeError(`ratePerS must be a positive number, got ${opts.ratePerS}`);
  if (!Number.isInteger(opts.burst) || opts.burst < 1) throw new RangeError(`burst must be an integer >= 1, got ${opts.burst}`);
  let tokens = opts.burst;
  let at = opts.now;
  const refill = (now: number) => {
    if (now > at) {
      tokens = Math.min(opts.burst, tokens + ((now - at) * opts.ratePerS) / 1000);
      at = now;
    }
  };
  return {
    take(now) {
      refill(now);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    available(now) {
      refill(now);
      return tokens;
    },
  };
}
