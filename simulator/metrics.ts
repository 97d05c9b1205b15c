import type { ClickHouseClient } from '@clickhouse/client';
import type { OnlineMetrics } from './engine.js';

/** The online metrics per model version as a fixed-width table (impressions, CTR, follows, dismissals, listen-through). */
export function formatMetricsTable(metrics: ReadonlyMap<string, OnlineMetrics>): string {
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const rows = [...metrics].map(([version, m]) =>
    `${version.padEnd(24)} ${String(m.impressions).padStart(11)} ${pct(m.clicks, m.impressions).padStart(6)} ${pct(m.follows, m.impressions).padStart(7)} ${pct(m.dismissals, m.impressions).padStart(8)} ${pct(m.played, m.played + m.skipped).padStart(15)}`);
  return [`${'model version'.padEnd(24)} ${'impressions'.padStart(11)} ${'CTR'.padStart(6)} ${'follows'.padStart(7)} ${'dismiss'.padStart(8)} ${'listen-through'.padStart(15)}`, ...rows].join('\n');
}

/** One row of the warehouse's `metrics` table. */
export interface MetricRow {
  readonly name: string;
  readonly value: number;
  /** JSON object of labels: model_version, source. */
  readonly labels: string;
  /** Unix seconds. */
  readonly ts: number;
}

/** The online metrics as `metrics` rows (`online.impressions`, `online.ctr`, ...), labelled by model version and source `simulate`. */
export function onlineMetricRows(metrics: ReadonlyMap<string, OnlineMetrics>, ts: number): MetricRow[] {
  return [...metrics].flatMap(([version, m]) => {
    const labels = JSON.stringify({ model_version: version, source: 'simulate' });
    const share = (a: number, b: number) => (b ? a / b : 0);
    return [
      { name: 'online.impressions', value: m.impressions, labels, ts },
      { name: 'online.ctr', value: share(m.clicks, m.impressions), labels, ts },
      { name: 'online.follow_rate', value: share(m.follows, m.impressions), labels, ts },
      { name: 'online.dismiss_rate', value: share(m.dismissals, m.impressions), labels, ts },
      { name: 'online.listen_through', value: share(m.played, m.played + m.skipped), labels, ts },
    ];
  });
}

/** Writes the online metrics of a run to the warehouse's `metrics` table (now as their time). */
export async function recordOnlineMetrics(client: ClickHouseClient, metrics: ReadonlyMap<string, OnlineMetrics>): Promise<void> {
  const rows = onlineMetricRows(metrics, Math.floor(Date.now() / 1000));
  if (rows.length) await client.insert({ table: 'metrics', values: rows, format: 'JSONEachRow' });
}
