import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamsApp } from './app.js';
import type { StreamsObserver } from './task.js';

/**
 * Prometheus metrics of stream applications, in one registry: the observer feeds batch latency and dead letters
 * as they happen; counters, store sizes and lag are read from the attached apps at each scrape.
 */
export interface StreamsMetrics {
  readonly registry: Registry;
  /** Hooks for `createStreamsApp({ observer })` of the application `applicationId`. */
  observer(applicationId: string): StreamsObserver;
  /** Reads this app's counters, stores and lag at each scrape. */
  attach(applicationId: string, app: StreamsApp): void;
}

export function createStreamsMetrics(opts: { readonly defaultMetrics?: boolean } = {}): StreamsMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const apps = new Map<string, StreamsApp>();
  const batchSeconds = new Histogram({
    name: 'buddies_streams_batch_seconds', help: 'Wall time of a committed batch (process, flush, transaction).',
    labelNames: ['application', 'partition'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'buddies_streams_dead_letters_total', help: 'Records sent to the dead-letter topic, by reason code.',
    labelNames: ['application', 'code'], registers: [registry],
  });
  const fromStats = (name: string, help: string, key: 'processed' | 'forwarded' | 'batches' | 'aborts' | 'retries' | 'taskRebuilds' | 'restoredRecords' | 'restoreSeconds') =>
    new Gauge({
      name, help, labelNames: ['application'], registers: [registry],
      collect() {
        for (const [id, app] of apps) this.set({ application: id }, app.stats[key]);
      },
    });
  fromStats('buddies_streams_records_processed_total', 'Input records processed (committed or not yet).', 'processed');
  fromStats('buddies_streams_records_forwarded_total', 'Output records written (committed or not yet).', 'forwarded');
  fromStats('buddies_streams_batches_total', 'Batches committed.', 'batches');
  fromStats('buddies_streams_aborted_batches_total', 'Batches aborted (redone).', 'aborts');
  fromStats('buddies_streams_retries_total', 'Retries of records and flushes after retriable failures.', 'retries');
  fromStats('buddies_streams_task_rebuilds_total', 'Tasks rebuilt (producer fenced or unusable): fenced, restored, resumed.', 'taskRebuilds');
  fromStats('buddies_streams_restored_records_total', 'Changelog records restored into stores.', 'restoredRecords');
  fromStats('buddies_streams_restore_seconds_total', 'Time spent restoring stores.', 'restoreSeconds');
  new Gauge({
    name: 'buddies_streams_store_entries', help: 'Entries per store and task.', labelNames: ['application', 'store'], registers: [registry],
    collect() {
      this.reset();
      for (const [id, app] of apps) for (const [store, n] of app.storeSizes()) this.set({ application: id, store }, n);
    },
  });
  new Gauge({
    name: 'buddies_streams_consumer_lag', help: 'Records of an assigned input partition not yet committed.', labelNames: ['application', 'topic', 'partition'], registers: [registry],
    async collect() {
      this.reset();
      for (const [id, app] of apps) {
        for (const l of await app.lag().catch(() => [])) this.set({ application: id, topic: l.topic, partition: String(l.partition) }, l.lag);
      }
    },
  });
  new Gauge({
    name: 'buddies_streams_up', help: '1 while the application is live (restoring or consuming), else 0.', labelNames: ['application'], registers: [registry],
    collect() {
      for (const [id, app] of apps) this.set({ application: id }, app.live() ? 1 : 0);
    },
  });
  return {
    registry,
    observer: (id) => ({
      batch: (partition, _records, seconds) => batchSeconds.observe({ application: id, partition: String(partition) }, seconds),
      deadLetter: (code) => deadLetters.inc({ application: id, code }),
    }),
    attach(id, app) {
      apps.set(id, app);
    },
  };
}

export interface HealthServer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A process's probes: `/metrics` (the registry, Prometheus text), `/healthz` and `/readyz` on `port` (0: any free
 * port; the one chosen is returned). `live()` and `ready()` return undefined when the process is live or ready, or
 * the reason it is not (answered with 503). Every long-running command serves these.
 */
export async function serveProbes(opts: {
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  readonly live: () => string | undefined;
  readonly ready: () => string | undefined;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz' || path === '/readyz') {
      const why = path === '/healthz' ? opts.live() : opts.ready();
      const word = path === '/healthz' ? 'live' : 'ready';
      return why === undefined ? answer(200, `${word}\n`) : answer(503, `not ${word}: ${why}\n`);
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => answer(200, text, opts.registry.contentType),
        (err: unknown) => answer(500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    answer(404, 'not found: /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // scrapers keep connections alive
    }),
  };
}

/**
 * The probes of stream applications ({@link serveProbes}): `/healthz` is 200 while every app is live (restoring or
 * consuming; 503 once one failed or stopped), `/readyz` 200 when every app runs with its tasks restored.
 */
export function serveHealth(opts: { readonly port: number; readonly host?: string; readonly metrics: StreamsMetrics; readonly apps: () => readonly StreamsApp[] }): Promise<HealthServer> {
  return serveProbes({
    port: opts.port, ...(opts.host !== undefined ? { host: opts.host } : {}), registry: opts.metrics.registry,
    live: () => {
      const down = opts.apps().filter((a) => !a.live());
      return down.length === 0 ? undefined : down.map((a) => a.state).join(', ');
    },
    ready: () => {
      const apps = opts.apps();
      return apps.length > 0 && apps.every((a) => a.ready()) ? undefined : 'restoring, rebalancing or not started';
    },
  });
}
