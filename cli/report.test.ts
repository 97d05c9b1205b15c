import { describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { parseSince } from './report.js';

describe('buddies report --since', () => {
  const now = Date.UTC(2026, 11, 2, 12);
  it('takes the last N days, a UTC date, or all', () => {
    expect(parseSince(undefined, now)).toBe(now / 1000 - 30 * 86_400);
    expect(parseSince('7d', now)).toBe(now / 1000 - 7 * 86_400);
    expect(parseSince('2026-11-01', now)).toBe(Date.UTC(2026, 10, 1) / 1000);
    expect(parseSince('all', now)).toBe(0);
  });
  it('refuses anything else', () => {
    for (const bad of ['7', 'yesterday', '2026-13-01', '2026-02-30', '-3d']) expect(() => parseSince(bad, now), bad).toThrow(UsageError);
  });
});
