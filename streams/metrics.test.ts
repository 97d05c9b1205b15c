import { join } from 'node:path';
import { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { createStreamsApp, type StreamsApp } from './app.js';
import { createCountingTopology } from './counting.js';
import { createStreamsMetrics, serveHealth, type HealthServer } from './metrics.js';
import { createLocalSerde } from './test-driver.js';

// A created, never started app: no broker is contacted. Its probes say so; its metrics carry its name.
describe('metrics and health endpoints (issue 8)', () => {
  let server: HealthServer;
  let app: StreamsApp;
  const metrics = createStreamsMetrics({ defaultMetrics: false });
  beforeAll(async () => {
    const serde = await createLocalSerde(join(findRootDir(), 'schemas'));
    const kafka = new Kafka({ clientId: 'metrics-test', brokers: ['127.0.0.1:1'] });
    app = createStreamsApp({ kafka, serde, topology: createCountingTopology({ applicationId: 'count' }), observer: metrics.observer('count') });
    metrics.attach('count', app);
    server = await serveHealth({ port: 0, host: '127.0.0.1', metrics, apps: () => [app] });
  });
  afterAll(() => server.stop());

  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, body: await res.text() };
  };

  it('answers /healthz and /readyz with 503 until the app is live and restored', async () => {
    expect(await get('/healthz')).toEqual({ status: 503, body: 'not live: created\n' });
    expect((await get('/readyz')).status).toBe(503);
  });

  it('serves the runtime metrics in the Prometheus text format, labelled by application', async () => {
    metrics.observer('count').batch?.(2, 10, 0.03);
    metrics.observer('count').deadLetter?.('DECODE');
    const { status, body } = await get('/metrics');
    expect(status).toBe(200);
    expect(body).toContain('buddies_streams_up{application="count"} 0');
    expect(body).toContain('buddies_streams_records_processed_total{application="count"} 0');
    expect(body).toContain('buddies_streams_batch_seconds_count{application="count",partition="2"} 1');
    expect(body).toContain('buddies_streams_dead_letters_total{application="count",code="DECODE"} 1');
    expect(await get('/nope')).toEqual({ status: 404, body: 'not found: /metrics, /healthz, /readyz\n' });
  });
});
