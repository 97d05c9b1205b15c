import { describe, expect, it } from 'vitest';
import { CronError, parseCron } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

// Issue 10, part 5: the Top Picks schedule.
describe('parseCron', () => {
  it('fires daily at 06:00 UTC for the default expression', () => {
    const c = parseCron('0 6 * * *');
    expect(iso(c.next(at('2026-12-02T05:59:30Z')))).toBe('2026-12-02T06:00:00.000Z');
    expect(iso(c.next(at('2026-12-02T06:00:00Z')))).toBe('2026-12-03T06:00:00.000Z'); // strictly after
    expect(iso(c.next(at('2026-12-31T07:00:00Z')))).toBe('2027-01-01T06:00:00.000Z');
  });

  it('handles steps, ranges, lists and names', () => {
    expect(iso(parseCron('*/15 * * * *').next(at('2026-12-02T10:16:00Z')))).toBe('2026-12-02T10:30:00.000Z');
    expect(iso(parseCron('5,35 9-10 * * *').next(at('2026-12-02T10:40:00Z')))).toBe('2026-12-03T09:05:00.000Z');
    expect(iso(parseCron('0 0 1 jan *').next(at('2026-12-02T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(parseCron('10/20 * * * *').next(at('2026-12-02T10:31:00Z')))).toBe('2026-12-02T10:50:00.000Z');
    expect(iso(parseCron('0 12 * * 1-5/2').next(at('2026-12-02T13:00:00Z')))).toBe('2026-12-04T12:00:00.000Z'); // Wed → Fri (Mon, Wed, Fri)
  });

  it('treats day of week 7 and sun as Sunday', () => {
    // 2026-12-06 is a Sunday
    expect(iso(parseCron('0 8 * * 7').next(at('2026-12-02T00:00:00Z')))).toBe('2026-12-06T08:00:00.000Z');
    expect(iso(parseCron('0 8 * * SUN').next(at('2026-12-02T00:00:00Z')))).toBe('2026-12-06T08:00:00.000Z');
  });

  it('matches either day field when both are restricted (Vixie cron)', () => {
    const c = parseCron('0 0 13 * 5'); // the 13th or any Friday
    expect(iso(c.next(at('2026-12-02T00:00:00Z')))).toBe('2026-12-04T00:00:00.000Z'); // a Friday before the 13th
    expect(c.matches(at('2026-12-13T00:00:10Z'))).toBe(true);
    expect(c.matches(at('2026-12-14T00:00:00Z'))).toBe(false);
  });

  it('finds a leap day', () => {
    expect(iso(parseCron('0 0 29 2 *').next(at('2026-03-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('rejects bad expressions with the field named', () => {
    expect(() => parseCron('0 6 * *')).toThrow(/4 field\(s\); want 5/);
    expect(() => parseCron('60 6 * * *')).toThrow(/minute: 60 is outside 0-59/);
    expect(() => parseCron('0 24 * * *')).toThrow(/hour/);
    expect(() => parseCron('0 6 0 * *')).toThrow(/day of month/);
    expect(() => parseCron('0 6 * 13 *')).toThrow(/month/);
    expect(() => parseCron('0 6 * * 8')).toThrow(/day of week/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/step/);
    expect(() => parseCron('5-1 * * * *')).toThrow(/backwards/);
    expect(() => parseCron('a * * * *')).toThrow(CronError);
    expect(() => parseCron('1,,2 * * * *')).toThrow(/empty/);
    expect(() => parseCron('0 0 30 2 *')).toThrow(/never fires/);
  });
});
