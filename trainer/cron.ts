/**
 * A standard five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC, pure and
 * without dependencies: what `BUDDIES_TOP_PICKS_CRON` and `buddies trainer top-picks --cron` take.
 *
 * Each field takes `*`, a number, a range `a-b`, a step `*∕n` or `a-b∕n` or `a∕n`, and comma-separated lists of
 * those; months and days of the week also take their English three-letter names (`jan`, `mon`), and day 7 is
 * Sunday like 0. As in Vixie cron, when both day-of-month and day-of-week are restricted (neither is `*`), a day
 * matches when either does. Macros (`@daily`), seconds, `L`, `W`, `#` and `?` are not supported.
 */
export interface CronSchedule {
  /** The expression as given (trimmed). */
  readonly source: string;
  /** The first matching minute strictly after `after` (epoch ms), in epoch ms. */
  next(after: number): number;
  /** True when the minute holding `at` matches. */
  matches(at: number): boolean;
}

/** A cron expression that does not parse; the message names the field and what is wrong. */
export class CronError extends Error {
  override readonly name = 'CronError';
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

const MINUTE = 60_000;

function parseValue(raw: string, f: (typeof FIELDS)[number]): number {
  const names: readonly string[] | undefined = 'names' in f ? f.names : undefined;
  const byName = names?.indexOf(raw.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (f.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(raw)) throw new CronError(`cron ${f.name}: '${raw}' is not a number${names ? ' or a name' : ''}`);
  const n = Number(raw);
  if (n < f.min || n > f.max) throw new CronError(`cron ${f.name}: ${n} is outside ${f.min}-${f.max}`);
  return n;
}

function parseField(text: string, f: (typeof FIELDS)[number]): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    if (part === '') throw new CronError(`cron ${f.name}: empty list item in '${text}'`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`cron ${f.name}: '${part}' has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new CronError(`cron ${f.name}: step '${stepText}' is not a positive integer`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      [lo, hi] = [f.min, f.name === 'day of week' ? 6 : f.max];
      if (stepText === undefined) star = true;
    } else if (range!.includes('-')) {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || a === '' || b === '') throw new CronError(`cron ${f.name}: '${range}' is not a range a-b`);
      [lo, hi] = [parseValue(a!, f), parseValue(b!, f)];
      if (lo > hi) throw new CronError(`cron ${f.name}: range ${range} runs backwards`);
    } else {
      lo = parseValue(range!, f);
      // 'a/n' means from a to the end, stepping n (as in Vixie cron)
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) set.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { set, star };
}

/** Parses a five-field cron expression (see {@link CronSchedule}); throws {@link CronError} naming the bad field. */
export function parseCron(expression: string): CronSchedule {
  const source = expression.trim();
  const parts = source.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) throw new CronError(`cron '${source}' has ${parts.length} field(s); want 5: minute hour day-of-month month day-of-week (e.g. '0 6 * * *')`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!));
  const dayMatches = (d: Date): boolean => {
    const byDom = dom!.set.has(d.getUTCDate());
    const byDow = dow!.set.has(d.getUTCDay());
    if (dom!.star && dow!.star) return true;
    if (dom!.star) return byDow;
    if (dow!.star) return byDom;
    return byDom || byDow;
  };
  const matches = (at: number): boolean => {
    const d = new Date(at);
    return minute!.set.has(d.getUTCMinutes()) && hour!.set.has(d.getUTCHours()) && month!.set.has(d.getUTCMonth() + 1) && dayMatches(d);
  };
  // a day of month that no chosen month has (e.g. '0 0 30 2 *') would never fire
  const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (dow!.star && !dom!.star && ![...month!.set].some((m) => [...dom!.set].some((day) => day <= MONTH_DAYS[m - 1]!))) {
    throw new CronError(`cron '${source}' never fires: no chosen month has the chosen days`);
  }
  return {
    source,
    matches,
    next(after) {
      if (!Number.isFinite(after)) throw new RangeError(`after must be a finite epoch ms, got ${after}`);
      let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
      // skip whole months, days and hours that cannot match, so a search stays well under a few thousand steps
      const limit = t + 5 * 366 * 24 * 60 * MINUTE;
      while (t <= limit) {
        const d = new Date(t);
        if (!month!.set.has(d.getUTCMonth() + 1)) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
          continue;
        }
        if (!dayMatches(d)) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
          continue;
        }
        if (!hour!.set.has(d.getUTCHours())) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
          continue;
        }
        if (!minute!.set.has(d.getUTCMinutes())) {
          t += MINUTE;
          continue;
        }
        return t;
      }
      throw new CronError(`cron '${source}' does not fire within five years of ${new Date(after).toISOString()}`);
    },
  };
}
