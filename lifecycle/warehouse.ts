import type { ClickHouseClient } from '@clickhouse/client';
import type { ArmCounts } from './decision.js';

/**
 * The lifecycle's reads and writes in ClickHouse: online counts per model version (from the tables the warehouse
 * sink writes: feedback and listens joined to their list's model version, as docs/analytics.md joins them), and
 * the decisions and triggers it records. Every query runs on ClickHouse 18.16 and current releases (one JOIN per
 * SELECT, no query parameters: times are whole unix seconds, versions never reach SQL as text).
 */

/** Counts of one BPR version's lists since a time: the canary controller's input. */
export interface BprArm extends ArmCounts {
  readonly bprVersion: string;
  /** The list model version (`buddies@emb:…+bpr:…`) with the most of these reactions. */
  readonly listVersion: string;
}

/** Counts of one list model version in a time range: the degradation monitor's input. */
export interface VersionCounts extends ArmCounts {
  readonly modelVersion: string;
  readonly listens: number;
  readonly playedThrough: number;
}

/** Where the lifecycle reads online counts. */
export interface OnlineCounts {
  /** Reactions since `sinceMs` to lists of each BPR version (the `bpr:` part of the list model version; `none` without BPR). */
  bprArms(sinceMs: number): Promise<BprArm[]>;
  /** Reactions in [fromMs, toMs) per list model version. */
  versionCounts(fromMs: number, toMs: number): Promise<VersionCounts[]>;
}

const sec = (ms: number): number => {
  const s = Math.floor(ms / 1000);
  if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`not a time: ${ms}`);
  return s;
};

/** Lists looked up from a day before the window, so reactions early in it find their list (as model-rates does). */
const lists = (from: number) => `SELECT recommendation_id, any(model_version) AS model_version FROM recommendations FINAL
    WHERE generated_at + 86400 >= toDateTime(${from}) GROUP BY recommendation_id`;

/**
 * Counts per BPR arm since `sinceMs`, with the per-user sums the rule's clustered tests need: reactions are
 * counted per (arm, user) first, then summed per arm (`list_version`: the list model version of the most users).
 */
export function bprArmsSql(sinceMs: number): string {
  const s = sec(sinceMs);
  return `SELECT bpr_version, topK(1)(list_version)[1] AS list_version,
  sum(i) AS impressions, sum(c) AS clicks, sum(fo) AS follows, count() AS users,
  sum(i * i) AS impressions2, sum(c * c) AS clicks2, sum(fo * fo) AS follows2, sum(i * c) AS impressions_clicks, sum(i * fo) AS impressions_follows
FROM (
  SELECT if(bpr = '', 'none', bpr) AS bpr_version, user_id, topK(1)(model_version)[1] AS list_version,
    countIf(kind = 'IMPRESSION') AS i, countIf(kind = 'CLICK') AS c, countIf(kind = 'FOLLOW_PLAYLIST') AS fo
  FROM (
    SELECT recommendation_id, user_id, kind FROM feedback_events FINAL
    WHERE event_time >= toDateTime(${s}) AND recommendation_id != '' AND kind IN ('IMPRESSION', 'CLICK', 'FOLLOW_PLAYLIST')
  ) AS f ALL INNER JOIN (
    SELECT recommendation_id, model_version, extract(model_version, 'bpr:([^+]*)$') AS bpr FROM (${lists(s)})
  ) AS r USING recommendation_id
  GROUP BY bpr_version, user_id
)
GROUP BY bpr_version
ORDER BY bpr_version`;
}

export function versionCountsSql(fromMs: number, toMs: number): string {
  const f = sec(fromMs);
  const t = sec(toMs);
  const window = `event_time >= toDateTime(${f}) AND event_time < toDateTime(${t}) AND recommendation_id != ''`;
  return `SELECT model_version, impressions, clicks, follows, listens, played_through
FROM (
  SELECT model_version, countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'CLICK') AS clicks, countIf(kind = 'FOLLOW_PLAYLIST') AS follows
  FROM (SELECT recommendation_id, kind FROM feedback_events FINAL WHERE ${window}) AS f
  ALL INNER JOIN (${lists(f)}) AS r USING recommendation_id
  GROUP BY model_version
) AS shown ANY LEFT JOIN (
  SELECT model_version, count() AS listens, sum(ms_played >= 30000 OR ms_played * 2 >= track_duration_ms) AS played_through
  FROM (SELECT recommendation_id, ms_played, track_duration_ms FROM listen_events FINAL WHERE ${window}) AS l
  ALL INNER JOIN (${lists(f)}) AS r USING recommendation_id
  GROUP BY model_version
) AS played USING model_version
ORDER BY model_version`;
}

const num = (v: unknown): number => Number(v ?? 0);

export function createClickHouseCounts(client: ClickHouseClient): OnlineCounts {
  const rows = async (query: string) => (await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>());
  return {
    async bprArms(sinceMs) {
      return (await rows(bprArmsSql(sinceMs))).map((r) => ({
        bprVersion: String(r.bpr_version), listVersion: String(r.list_version), impressions: num(r.impressions), clicks: num(r.clicks), follows: num(r.follows),
        perUser: {
          users: num(r.users), impressions2: num(r.impressions2), clicks2: num(r.clicks2), follows2: num(r.follows2),
          impressionsClicks: num(r.impressions_clicks), impressionsFollows: num(r.impressions_follows),
        },
      }));
    },
    async versionCounts(fromMs, toMs) {
      return (await rows(versionCountsSql(fromMs, toMs))).map((r) => ({
        modelVersion: String(r.model_version), impressions: num(r.impressions), clicks: num(r.clicks), follows: num(r.follows),
        listens: num(r.listens), playedThrough: num(r.played_through),
      }));
    },
  };
}

/** A row of `model_decisions` (migrations 8 and 12). Times are epoch ms; versions are list model versions. */
export interface DecisionRow {
  readonly decisionId: string;
  readonly modelName: string;
  readonly canaryVersion: string;
  readonly productionVersion: string;
  readonly startedAt: number;
  readonly decidedAt: number;
  readonly decision: 'promote' | 'rollback';
  readonly reason: string;
  readonly canary: ArmCounts;
  readonly production: ArmCounts;
  readonly ctr: { readonly z: number; readonly p: number };
  readonly follow: { readonly z: number; readonly p: number };
  readonly failedChecks: number;
  readonly share: number;
  /** Everything else worth keeping (rule, rates, comparisons, versions): JSON in `numbers`. */
  readonly numbers: Readonly<Record<string, unknown>>;
}

/** A row of `model_triggers` (migration 12). */
export interface TriggerRow {
  readonly triggerId: string;
  readonly modelVersion: string;
  readonly metric: string;
  readonly recent: number;
  readonly baseline: number;
  readonly drop: number;
  readonly threshold: number;
  readonly recentSamples: number;
  readonly baselineSamples: number;
  readonly reason: string;
  readonly triggeredAt: number;
}

/** Where the lifecycle records what it did. Idempotent per id (ReplacingMergeTree): a retried write folds into one row. */
export interface LifecycleRecorder {
  decision(row: DecisionRow): Promise<void>;
  trigger(row: TriggerRow): Promise<void>;
}

/** Float64 columns take no Infinity through JSON: clamp (a z of ±Infinity is an exact comparison). */
const finite = (x: number): number => (Number.isNaN(x) ? 0 : Math.max(-1e300, Math.min(1e300, x)));

export function createClickHouseRecorder(client: ClickHouseClient): LifecycleRecorder {
  return {
    async decision(d) {
      await client.insert({ table: 'model_decisions', format: 'JSONEachRow', values: [{
        decision_id: d.decisionId, model_name: d.modelName, canary_version: d.canaryVersion, production_version: d.productionVersion,
        started_at: sec(d.startedAt), decided_at: sec(d.decidedAt), decision: d.decision, reason: d.reason,
        canary_impressions: d.canary.impressions, canary_clicks: d.canary.clicks, canary_follows: d.canary.follows,
        production_impressions: d.production.impressions, production_clicks: d.production.clicks, production_follows: d.production.follows,
        ctr_z: finite(d.ctr.z), ctr_p: finite(d.ctr.p), follow_z: finite(d.follow.z), follow_p: finite(d.follow.p),
        failed_checks: d.failedChecks, share: d.share, numbers: JSON.stringify(d.numbers, (_k, v: unknown) => (typeof v === 'number' ? finite(v) : v)),
      }] });
    },
    async trigger(t) {
      await client.insert({ table: 'model_triggers', format: 'JSONEachRow', values: [{
        trigger_id: t.triggerId, model_version: t.modelVersion, metric: t.metric, recent: finite(t.recent), baseline: finite(t.baseline),
        drop_share: finite(t.drop), threshold: t.threshold, recent_samples: t.recentSamples, baseline_samples: t.baselineSamples, reason: t.reason,
        triggered_at: sec(t.triggeredAt),
      }] });
    },
  };
}
