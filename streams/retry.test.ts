import { describe, expect, it } from 'vitest';
import { DecodeError, TransientError, isRetriable } from './errors.js';
import { backoffMs, withRetry } from './retry.js';

describe('withRetry', () => {
  it('retries retriable errors until success', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw new TransientError('registry down');
      return 'ok';
    }, { initialMs: 1, maxMs: 2 });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('throws a non-retriable error at once', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new DecodeError('corrupt'); }, { initialMs: 1 })).rejects.toBeInstanceOf(DecodeError);
    expect(calls).toBe(1);
  });

  it('gives up after the configured retries', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new TransientError('still down'); }, { retries: 2, initialMs: 1, maxMs: 1 })).rejects.toThrow('still down');
    expect(calls).toBe(3);
  });

  it('treats kafkajs errors by their retriable flag, plain errors as not retriable', () => {
    expect(isRetriable(Object.assign(new Error('leader not available'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('bad request'), { retriable: false }))).toBe(false);
    expect(isRetriable(new Error('boom'))).toBe(false);
  });
});

describe('backoffMs', () => {
  it('grows exponentially, is capped, and jitters within [base/2, base]', () => {
    const opts = { initialMs: 100, maxMs: 1000, factor: 2 };
    expect(backoffMs(1, opts, () => 0)).toBe(50);
    expect(backoffMs(1, opts, () => 1)).toBe(100);
    expect(backoffMs(3, opts, () => 1)).toBe(400);
    expect(backoffMs(10, opts, () => 1)).toBe(1000);
    expect(backoffMs(10, opts, () => 0)).toBe(500);
  });
});
