import { serveProbes } from '../streams/index.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcomes of a Top Picks run. */
export type TopPicksStatus = 'published' | 'failed';

/** The Top Picks batch's Prometheus metrics, in a registry of their own; the batch calls the hooks as it goes. */
export interface TopPicksMetrics {
  readonly registry: Registry;
  started(users: number): void;
  batch(size: number, seconds: number, backlog: number): void;
  lists(personal: number, coldStart: number): void;
  finished(status: TopPicksStatus, seconds: number, at: number): void;
  nextRun(at: number | undefined): void;
}

export function createTopPicksMetrics(opts: { readonly defaultMetrics?: boolean } = {}): TopPicksMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const r = [registry];
  const users = new Gauge({ name: 'buddies_top_picks_active_users', help: 'Active users of the last (or current) Top Picks run.', registers: r });
  const backlog = new Gauge({ name: 'buddies_top_picks_backlog', help: 'Users of the current run still waiting for their daily list.', registers: r });
  const size = new Gauge({ name: 'buddies_top_picks_batch_size', help: 'Size of the last batch (the dynamic batching controller sets it).', registers: r });
  const batchSeconds = new Histogram({
    name: 'buddies_top_picks_batch_seconds', help: 'Wall time of one batch: ranking and publishing its lists.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r,
  });
  const lists = new Counter({ name: 'buddies_top_picks_lists_total', help: 'Daily lists published, by kind.', labelNames: ['kind'], registers: r });
  const runs = new Counter({ name: 'buddies_top_picks_runs_total', help: 'Top Picks runs, by outcome.', labelNames: ['status'], registers: r });
  const runSeconds = new Gauge({ name: 'buddies_top_picks_last_run_seconds', help: 'Wall time of the last run.', registers: r });
  const lastRun = new Gauge({ name: 'buddies_top_picks_last_run_timestamp_seconds', help: 'When the last run finished (epoch seconds).', labelNames: ['status'], registers: r });
  const next = new Gauge({ name: 'buddies_top_picks_next_run_timestamp_seconds', help: 'When the next scheduled run starts (epoch seconds; 0: none).', registers: r });
  for (const s of ['published', 'failed']) runs.inc({ status: s }, 0);
  for (const k of ['personal', 'cold_start']) lists.inc({ kind: k }, 0);
  return {
    registry,
    started(n) {
      users.set(n);
      backlog.set(n);
    },
    batch(n, seconds, left) {
      size.set(n);
      batchSeconds.observe(seconds);
      backlog.set(left);
    },
    lists(personal, coldStart) {
      lists.inc({ kind: 'personal' }, personal);
      lists.inc({ kind: 'cold_start' }, coldStart);
    },
    finished(status, seconds, at) {
      runs.inc({ status });
      runSeconds.set(seconds);
      lastRun.set({ status }, at / 1000);
    },
    nextRun(at) {
      next.set(at === undefined ? 0 : at / 1000);
    },
  };
}

export interface TopPicksHealthServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** `/metrics`, `/healthz` (200 while `live()`) and `/readyz` (200 while `ready()`) on `port` (0: any free port). */
export function serveTopPicksHealth(opts: {
  readonly port: number;
  readonly host?: string;
  readonly metrics: TopPicksMetrics;
  readonly live: () => boolean;
  readonly ready: () => boolean;
}): Promise<TopPicksHealthServer> {
  return serveProbes({
    port: opts.port, ...(opts.host !== undefined ? { host: opts.host } : {}), registry: opts.metrics.registry,
    live: () => (opts.live() ? undefined : 'the Top Picks scheduler stopped'),
    ready: () => (opts.ready() ? undefined : 'connecting'),
  });
}
