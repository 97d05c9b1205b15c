import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The analysts' queries, kept in one place: docs/analytics.md quotes each `sql` word for word (a test checks it),
 * and `buddies report NAME` runs it. Every query runs on ClickHouse 18.16 and on current releases: one JOIN per
 * SELECT (ANY/ALL, USING), no window functions, no query parameters. `{since}` stands for the start of the window
 * (`toDateTime(<unix seconds>)`, see {@link renderQuery}). Raw event tables are read with FINAL, so replayed and
 * duplicated events count once; the hourly views are summed (sum() ... GROUP BY), as their parts may not be merged.
 */
export interface AnalyticsQuery {
  /** The name `buddies report` takes. */
  readonly name: string;
  /** The question it answers, one line. */
  readonly question: string;
  /** Tables and views it reads. */
  readonly reads: readonly string[];
  readonly sql: string;
}

const rate = (num: string, den: string, alias: string) => `if(${den} = 0, 0, round(${num} / ${den}, 3)) AS ${alias}`;

export const ANALYTICS_QUERIES: readonly AnalyticsQuery[] = [
  {
    name: 'listening-minutes',
    question: 'Organic against algorithmic listening minutes per day',
    reads: ['listen_hourly'],
    sql: `SELECT toDate(hour) AS day,
  round(sumIf(listened_ms, source = 'ORGANIC_PLAYLIST') / 60000, 1) AS organic_min,
  round(sumIf(listened_ms, source IN ('ALGORITHMIC', 'RADIO')) / 60000, 1) AS algorithmic_min,
  round(sumIf(listened_ms, source NOT IN ('ORGANIC_PLAYLIST', 'ALGORITHMIC', 'RADIO')) / 60000, 1) AS other_min,
  round(sum(listened_ms) / 60000, 1) AS total_min
FROM listen_hourly
WHERE hour >= toStartOfHour({since})
GROUP BY day
ORDER BY day`,
  },
  {
    name: 'model-rates',
    question: 'Click-through, follow rate and listen-through of recommended playlists by model version',
    reads: ['reaction_hourly'],
    sql: `SELECT model_version, impressions, clicks, follows,
  ${rate('clicks', 'impressions', 'ctr')},
  ${rate('follows', 'impressions', 'follow_rate')},
  listens, ${rate('played_through', 'listens', 'listen_through')}
FROM (
  SELECT model_version, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(follows) AS follows,
    sum(listens) AS listens, sum(played_through) AS played_through
  FROM reaction_hourly
  WHERE hour >= toStartOfHour({since})
  GROUP BY model_version
)
ORDER BY model_version`,
  },
  {
    name: 'explanation-rates',
    question: "The same rates by explanation: 'made by your buddy', 'followed by your buddy', 'new from your buddy', 'popular', 'random pick'",
    reads: ['reaction_hourly'],
    sql: `SELECT explanation, impressions, clicks, follows,
  ${rate('clicks', 'impressions', 'ctr')},
  ${rate('follows', 'impressions', 'follow_rate')},
  listens, ${rate('played_through', 'listens', 'listen_through')}
FROM (
  SELECT explanation, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(follows) AS follows,
    sum(listens) AS listens, sum(played_through) AS played_through
  FROM reaction_hourly
  WHERE hour >= toStartOfHour({since})
  GROUP BY explanation
)
ORDER BY explanation`,
  },
  {
    name: 'cold-start',
    question: 'Users whose first list was a cold start (popular only), how many later got a personalised list, and how fast',
    reads: ['recommendations'],
    sql: `SELECT toDate(first_cold) AS day, count() AS cold_start_users, countIf(first_personal > first_cold) AS converted,
  ${rate('converted', 'cold_start_users', 'conversion_rate')},
  if(converted = 0, 0, round(medianIf(first_personal - first_cold, first_personal > first_cold) / 60, 1)) AS median_minutes_to_convert
FROM (
  SELECT user_id, minIf(toUInt32(generated_at), cold_start = 1) AS first_cold,
    minIf(toUInt32(generated_at), cold_start = 0) AS first_personal
  FROM recommendations FINAL
  WHERE generated_at >= {since} AND NOT startsWith(model_version, 'random')
  GROUP BY user_id
  HAVING countIf(cold_start = 1) > 0 AND (countIf(cold_start = 0) = 0 OR first_cold < first_personal)
)
GROUP BY day
ORDER BY day`,
  },
  {
    name: 'top-followed',
    question: 'The playlists (and their curators) whose recommendations are followed most',
    reads: ['feedback_events', 'playlists'],
    sql: `SELECT playlist_id, curator, name, impressions, follows, if(impressions = 0, 0, round(least(1, follows / impressions), 3)) AS follow_rate
FROM (
  SELECT playlist_id, countIf(kind = 'IMPRESSION') AS impressions, countIf(kind = 'FOLLOW_PLAYLIST') AS follows
  FROM feedback_events FINAL
  WHERE event_time >= {since} AND recommendation_id != '' AND kind IN ('IMPRESSION', 'FOLLOW_PLAYLIST')
  GROUP BY playlist_id
  HAVING follows > 0
) AS followed ANY LEFT JOIN (SELECT playlist_id, owner_id AS curator, name FROM playlists FINAL) AS p USING playlist_id
ORDER BY follows DESC, follow_rate DESC, playlist_id
LIMIT 20`,
  },
  {
    name: 'buddies-followed',
    question: "How many of a user's buddies are also people they follow (they follow a playlist the buddy made)",
    reads: ['recommendations', 'feedback_events', 'playlists'],
    sql: `SELECT count() AS users, sum(buddies) AS buddies, sum(followed) AS buddies_followed,
  ${rate('buddies_followed', 'buddies', 'share_followed')},
  countIf(followed > 0) AS users_following_a_buddy
FROM (
  SELECT user_id, count() AS buddies, sum(is_followed) AS followed
  FROM (SELECT DISTINCT user_id, buddy_id FROM recommendations FINAL WHERE generated_at >= {since} AND buddy_id != '') AS b
  ANY LEFT JOIN (
    SELECT DISTINCT user_id, owner_id AS buddy_id, toUInt8(1) AS is_followed
    FROM (SELECT user_id, playlist_id FROM feedback_events FINAL WHERE kind = 'FOLLOW_PLAYLIST') AS f
    ALL INNER JOIN (SELECT playlist_id, owner_id FROM playlists FINAL) AS p USING playlist_id
  ) AS follows USING (user_id, buddy_id)
  GROUP BY user_id
)`,
  },
  {
    name: 'retention',
    question: 'Retention of users who followed a recommended playlist against those who did not',
    reads: ['listen_events', 'feedback_events'],
    sql: `SELECT followed_recommended, count() AS users, round(avg(active_days), 2) AS avg_active_days,
  round(countIf(last_seen >= first_seen + 86400) / users, 3) AS retained_1d,
  round(countIf(last_seen >= first_seen + 7 * 86400) / users, 3) AS retained_7d
FROM (
  SELECT user_id, min(t) AS first_seen, max(t) AS last_seen, uniqExact(toDate(t)) AS active_days
  FROM (
    SELECT user_id, event_time AS t FROM listen_events FINAL WHERE event_time >= {since}
    UNION ALL
    SELECT user_id, event_time AS t FROM feedback_events FINAL WHERE event_time >= {since}
  )
  GROUP BY user_id
) AS active ANY LEFT JOIN (
  SELECT DISTINCT user_id, toUInt8(1) AS followed_recommended FROM feedback_events FINAL
  WHERE event_time >= {since} AND kind = 'FOLLOW_PLAYLIST' AND recommendation_id != ''
) AS followers USING user_id
GROUP BY followed_recommended
ORDER BY followed_recommended`,
  },
  {
    name: 'organic-share',
    question: 'The share of listening that comes from playlists made by people, per day, and how much of it Buddies recommended',
    reads: ['listen_hourly'],
    sql: `SELECT toDate(hour) AS day, round(sum(listened_ms) / 60000, 1) AS total_min,
  round(sumIf(listened_ms, source = 'ORGANIC_PLAYLIST') / 60000, 1) AS organic_min,
  if(sum(listened_ms) = 0, 0, round(sumIf(listened_ms, source = 'ORGANIC_PLAYLIST') / sum(listened_ms), 3)) AS organic_share,
  if(sum(listened_ms) = 0, 0, round(sumIf(listened_ms, source = 'ORGANIC_PLAYLIST' AND recommended = 1) / sum(listened_ms), 3)) AS recommended_share
FROM listen_hourly
WHERE hour >= toStartOfHour({since})
GROUP BY day
ORDER BY day`,
  },
  {
    name: 'new-playlist-reach',
    question: 'The reach of new playlists in their first day: users shown them, who followed them, who played from them',
    reads: ['playlist_first_seen', 'feedback_events', 'listen_events'],
    sql: `SELECT toDate(created) AS day, count() AS new_playlists, countIf(shown_to > 0) AS shown_to_anyone,
  sum(shown_to) AS users_shown, sum(followers) AS users_followed, sum(listeners) AS users_played
FROM (
  SELECT playlist_id, created,
    uniqExactIf(user_id, kind = 'IMPRESSION' AND t < created + 86400) AS shown_to,
    uniqExactIf(user_id, kind = 'FOLLOW_PLAYLIST' AND t < created + 86400) AS followers,
    uniqExactIf(user_id, kind = 'LISTEN' AND t < created + 86400) AS listeners
  FROM (
    SELECT playlist_id, minMerge(first_seen) AS created FROM playlist_first_seen GROUP BY playlist_id HAVING created >= {since}
  ) AS p ALL LEFT JOIN (
    SELECT playlist_id, user_id, kind, event_time AS t FROM feedback_events FINAL WHERE event_time >= {since} AND playlist_id != ''
    UNION ALL
    SELECT playlist_id, user_id, 'LISTEN' AS kind, event_time AS t FROM listen_events FINAL WHERE event_time >= {since} AND playlist_id != ''
  ) AS e USING playlist_id
  GROUP BY playlist_id, created
)
GROUP BY day
ORDER BY day`,
  },
  {
    name: 'canary',
    question: 'Canary against production per decision of the trainer (model_decisions): impressions, CTR and follow rate of each',
    reads: ['model_decisions', 'reaction_hourly'],
    sql: `SELECT decision_id, model_name, decision, role, model_version, impressions,
  ${rate('clicks', 'impressions', 'ctr')},
  ${rate('follows', 'impressions', 'follow_rate')}
FROM (
  SELECT decision_id, any(model_name) AS model_name, any(decision) AS decision, role, model_version,
    sumIf(impressions, hour >= toStartOfHour(started_at) AND hour < decided_at) AS impressions,
    sumIf(clicks, hour >= toStartOfHour(started_at) AND hour < decided_at) AS clicks,
    sumIf(follows, hour >= toStartOfHour(started_at) AND hour < decided_at) AS follows
  FROM (
    SELECT decision_id, model_name, decision, started_at, decided_at, model_version, role
    FROM model_decisions FINAL
    ARRAY JOIN [canary_version, production_version] AS model_version, ['canary', 'production'] AS role
    WHERE decided_at >= {since}
  ) AS d ALL LEFT JOIN (
    SELECT model_version, hour, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(follows) AS follows
    FROM reaction_hourly
    WHERE hour + 30 * 86400 >= {since}
    GROUP BY model_version, hour
  ) AS stats USING model_version
  GROUP BY decision_id, role, model_version
)
ORDER BY decision_id, role`,
  },
];

/** No documented query has this name. */
export class UnknownQueryError extends Error {
  override readonly name = 'UnknownQueryError';
  constructor(readonly query: string) {
    super(`no report named '${query}' (buddies report --list names them: ${ANALYTICS_QUERIES.map((q) => q.name).join(', ')})`);
  }
}

export function analyticsQuery(name: string): AnalyticsQuery {
  const q = ANALYTICS_QUERIES.find((x) => x.name === name);
  if (!q) throw new UnknownQueryError(name);
  return q;
}

/** The query's SQL with the window's start (unix seconds) in place of `{since}`. */
export function renderQuery(q: AnalyticsQuery, sinceSeconds: number): string {
  if (!Number.isInteger(sinceSeconds) || sinceSeconds < 0) throw new RangeError(`since must be a whole number of unix seconds, got ${sinceSeconds}`);
  return q.sql.replaceAll('{since}', `toDateTime(${sinceSeconds})`);
}

/** A query's result: column names and types as ClickHouse gives them, and the rows (numbers as numbers). */
export interface QueryResult {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  readonly rows: ReadonlyArray<Record<string, string | number>>;
}

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

/** A result from ClickHouse's JSON output format (`meta` and `data`), numbers as numbers (64-bit ones come quoted). */
export function toQueryResult(res: { readonly meta?: ReadonlyArray<{ readonly name: string; readonly type: string }>; readonly data: ReadonlyArray<Record<string, unknown>> }): QueryResult {
  const columns = res.meta ?? [];
  const numeric = new Set(columns.filter((c) => NUMERIC.test(c.type)).map((c) => c.name));
  const rows = res.data.map((r) => {
    const out: Record<string, string | number> = {};
    for (const c of columns) {
      const v = r[c.name];
      out[c.name] = numeric.has(c.name) ? Number(v) : String(v);
    }
    return out;
  });
  return { columns, rows };
}

/** Runs a documented query on the warehouse the client is bound to. */
export async function runAnalyticsQuery(client: ClickHouseClient, name: string, sinceSeconds: number): Promise<QueryResult> {
  const res = await (await client.query({ query: renderQuery(analyticsQuery(name), sinceSeconds), format: 'JSON' })).json<Record<string, unknown>>();
  return toQueryResult(res);
}

export type ReportFormat = 'table' | 'json' | 'csv';

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A result as an aligned table (numbers right-aligned), a JSON array of row objects, or CSV with a header. */
export function formatQueryResult(result: QueryResult, format: ReportFormat): string {
  const names = result.columns.map((c) => c.name);
  if (format === 'json') return `${JSON.stringify(result.rows, null, 2)}\n`;
  if (format === 'csv') return [names.map(csvCell).join(','), ...result.rows.map((r) => names.map((n) => csvCell(r[n] ?? '')).join(','))].join('\n') + '\n';
  if (result.rows.length === 0) return `${names.join('  ')}\n(no rows)\n`;
  const cells = result.rows.map((r) => names.map((n) => String(r[n] ?? '')));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i]!.length)));
  const numeric = result.columns.map((c) => NUMERIC.test(c.type));
  const line = (vals: readonly string[]) => vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(names), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
