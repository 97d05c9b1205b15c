/**
 * What the dashboard shows for a snapshot of the live metrics (gateway/live-metrics.ts), a time range and a model
 * version: chart series and numbers. Pure (no DOM), so it is unit-tested in Node and bundled into the page.
 */
import type { LiveMetricsSnapshot, ModelSeries } from '../live-metrics.js';

/** The time ranges the page offers, in seconds. */
export const RANGES: ReadonlyArray<{ readonly label: string; readonly seconds: number }> = [
  { label: 'last 15 minutes', seconds: 900 },
  { label: 'last hour', seconds: 3_600 },
  { label: 'last 3 hours', seconds: 10_800 },
];

/** At most this many points per chart: longer ranges add up neighbouring buckets. */
export const MAX_POINTS = 90;

/** Rates (click-through, follow rate) are drawn over a trailing window of this many seconds, not per point. */
export const ROLLING_SECONDS = 300;

/** A current point younger than this many seconds has no rate yet. */
export const FRESH_SECONDS = 10;

export interface ViewOptions {
  readonly rangeSeconds: number;
  /** One model version, or undefined for all. */
  readonly modelVersion?: string | undefined;
}

export interface VersionSeries { readonly version: string; readonly values: ReadonlyArray<number | null> }

export interface ModelRow {
  readonly version: string;
  readonly lists: number;
  readonly impressions: number;
  readonly clicks: number;
  readonly follows: number;
  /** Clicks per impression; null without impressions. */
  readonly ctr: number | null;
  readonly followRate: number | null;
  readonly newUsers: number;
}

export interface View {
  /** Start of each point, unix seconds. */
  readonly times: readonly number[];
  /** Seconds per point. */
  readonly stepSeconds: number;
  /** Listening minutes per minute, per point. */
  readonly listening: { readonly recommended: Array<number | null>; readonly organic: Array<number | null>; readonly other: Array<number | null> };
  /**
   * Events per second, per point. The current point is over its elapsed part, and null in its first
   * {@link FRESH_SECONDS} (too little time to say: the line would fall to zero at every new minute).
   */
  readonly rates: { readonly listens: Array<number | null>; readonly feedback: Array<number | null>; readonly lists: Array<number | null> };
  /** Per model version shown (all, or the one chosen), over the trailing {@link ROLLING_SECONDS}; null without impressions. */
  readonly ctr: readonly VersionSeries[];
  readonly followRate: readonly VersionSeries[];
  readonly newUsers: readonly VersionSeries[];
  /** The range's totals. */
  readonly numbers: {
    readonly recommendedMin: number;
    readonly organicMin: number;
    readonly otherMin: number;
    /** Organic (recommended or not) over all listening; null without listening. */
    readonly organicShare: number | null;
    /** Listens, feedback and lists per second over the range (up to now). */
    readonly eventsPerSecond: number;
    /** The same over the last complete bucket. */
    readonly eventsPerSecondLastBucket: number;
    readonly listens: number;
    readonly feedback: number;
    readonly lists: number;
    readonly impressions: number;
    readonly clicks: number;
    readonly follows: number;
    readonly ctr: number | null;
    readonly followRate: number | null;
    readonly newUsers: number;
  };
  readonly models: readonly ModelRow[];
  /** The range's most recommended playlists for the chosen version(s), most first (at most 10). */
  readonly top: ReadonlyArray<{ readonly playlistId: string; readonly name: string; readonly curator: string; readonly lists: number }>;
}

const sum = (xs: readonly number[], from = 0, to = xs.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i] ?? 0;
  return s;
};
const ratio = (num: number, den: number) => (den > 0 ? num / den : null);

/** The view of `s` for a range and a model version. */
export function viewOf(s: LiveMetricsSnapshot, o: ViewOptions): View {
  const b = s.bucketSeconds;
  const n = s.buckets.length;
  const take = Math.min(n, Math.max(1, Math.ceil(o.rangeSeconds / b)));
  const first = n - take;
  const group = Math.max(1, Math.ceil(take / MAX_POINTS));
  // points end with the current bucket: the first point may hold fewer buckets
  const starts: number[] = [];
  for (let end = n; end > first; end -= group) starts.unshift(Math.max(first, end - group));
  const ends = starts.map((_, i) => starts[i + 1] ?? n);
  const nowS = s.at / 1000;
  // seconds each point covers so far (the current bucket only up to now)
  const span = starts.map((st, i) => {
    const from = s.buckets[st]!;
    const to = Math.min(from + (ends[i]! - st) * b, Math.max(from + 1, nowS));
    return Math.max(1, to - from);
  });
  const points = (xs: readonly number[]) => starts.map((st, i) => sum(xs, st, ends[i]));
  const young = span[span.length - 1]! < Math.min(FRESH_SECONDS, group * b);
  const settled = (i: number) => !(young && i === starts.length - 1);
  const perSecond = (xs: readonly number[]) => points(xs).map((v, i) => (settled(i) ? v / span[i]! : null));
  const perMinute = (xs: readonly number[]) => points(xs).map((v, i) => (settled(i) ? v / (span[i]! / 60) : null));

  const versions = o.modelVersion === undefined ? [...s.modelVersions] : s.modelVersions.filter((v) => v === o.modelVersion);
  const series = (v: string): ModelSeries => s.byModel[v]!;
  // a per-minute rate of a few impressions jumps between 0 and 1: draw it over a trailing window instead
  const rolling = Math.max(1, Math.round(ROLLING_SECONDS / (group * b)));
  const rate = (num: keyof ModelSeries, den: keyof ModelSeries) => versions.map((v) => {
    const a = points(series(v)[num]);
    const d = points(series(v)[den]);
    const from = (i: number) => Math.max(0, i - rolling + 1);
    return { version: v, values: a.map((_, i) => {
      const dd = sum(d, from(i), i + 1);
      return dd > 0 ? sum(a, from(i), i + 1) / dd : null;
    }) };
  });

  const rangeSum = (xs: readonly number[]) => sum(xs, first, n);
  const models: ModelRow[] = versions.map((v) => {
    const m = series(v);
    const impressions = rangeSum(m.impressions);
    const clicks = rangeSum(m.clicks);
    const follows = rangeSum(m.follows);
    return { version: v, lists: rangeSum(m.lists), impressions, clicks, follows, ctr: ratio(clicks, impressions), followRate: ratio(follows, impressions), newUsers: rangeSum(m.newUsers) };
  });
  const total = (k: keyof ModelRow) => models.reduce((acc, m) => acc + (m[k] as number), 0);

  const recommendedMin = rangeSum(s.listening.recommendedMin);
  const organicMin = rangeSum(s.listening.organicMin);
  const otherMin = rangeSum(s.listening.otherMin);
  const listens = rangeSum(s.events.listens);
  const feedback = rangeSum(s.events.feedback);
  const lists = rangeSum(s.events.lists);
  const rangeSpan = Math.max(1, Math.min(nowS, s.buckets[n - 1]! + b) - s.buckets[first]!);
  const last = n >= 2 ? n - 2 : n - 1;
  const lastEvents = (s.events.listens[last] ?? 0) + (s.events.feedback[last] ?? 0) + (s.events.lists[last] ?? 0);

  const shown = new Set(versions.map((v) => s.modelVersions.indexOf(v)));
  const counts = new Map<number, number>();
  for (const [bi, vi, pi, c] of s.playlistCounts) if (bi >= first && shown.has(vi)) counts.set(pi, (counts.get(pi) ?? 0) + c);
  const top = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 10).map(([pi, c]) => ({ ...s.playlists[pi]!, lists: c }));

  return {
    times: starts.map((st) => s.buckets[st]!),
    stepSeconds: group * b,
    listening: { recommended: perMinute(s.listening.recommendedMin), organic: perMinute(s.listening.organicMin), other: perMinute(s.listening.otherMin) },
    rates: { listens: perSecond(s.events.listens), feedback: perSecond(s.events.feedback), lists: perSecond(s.events.lists) },
    ctr: rate('clicks', 'impressions'),
    followRate: rate('follows', 'impressions'),
    newUsers: versions.map((v) => ({ version: v, values: points(series(v).newUsers) })),
    numbers: {
      recommendedMin, organicMin, otherMin,
      organicShare: ratio(recommendedMin + organicMin, recommendedMin + organicMin + otherMin),
      eventsPerSecond: (listens + feedback + lists) / rangeSpan,
      eventsPerSecondLastBucket: lastEvents / b,
      listens, feedback, lists,
      impressions: total('impressions'), clicks: total('clicks'), follows: total('follows'),
      ctr: ratio(total('clicks'), total('impressions')), followRate: ratio(total('follows'), total('impressions')),
      newUsers: total('newUsers'),
    },
    models,
    top,
  };
}
