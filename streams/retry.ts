import { setTimeout as delay } from 'node:timers/promises';
import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first. */
  readonly retries?: number;
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
  /** Decides what is worth retrying; default: {@link isRetriable}. */
  readonly retriable?: (err: unknown) => boolean;
  readonly onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  readonly signal?: AbortSignal;
}

/** Backoff before attempt `attempt` (1-based): exponential, capped, with full jitter from `random`. */
export function backoffMs(attempt: number, opts: Pick<RetryOptions, 'initialMs' | 'maxMs' | 'factor'> = {}, random = Math.random): number {
  const base = Math.min(opts.maxMs ?? 10_000, (opts.initialMs ?? 100) * (opts.factor ?? 2) ** (attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Runs `fn`, retrying only retriable errors with exponential backoff; others are thrown at once. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 5;
  const retriable = opts.retriable ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt > retries || !retriable(err) || opts.signal?.aborted) throw err;
      const wait = backoffMs(attempt, opts);
      opts.onRetry?.(err, attempt, wait);
      await delay(wait, undefined, { signal: opts.signal });
    }
  }
}
