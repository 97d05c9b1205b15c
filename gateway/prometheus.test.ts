import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './prometheus.js';

const source = {
  connections: () => 3, subscriptions: (c: string) => (c === 'metrics' ? 1 : 2), bufferedBytes: () => 10, queuedMessages: () => 0, latestLists: () => 5, pendingEvents: () => 0,
};

describe('gateway metrics', () => {
  it('counts pushes and coalesced pushes by channel (series bound on first use) and observes push latency', async () => {
    const m = createGatewayMetrics(source, { defaultMetrics: false });
    m.push('recommendations');
    m.push('recommendations');
    m.push('metrics');
    m.coalesced('recommendations');
    m.pushLatency(0.003);
    m.pushLatency(-1); // a clock step back counts as 0
    m.pushLatency(0.2);
    const text = await m.registry.metrics();
    expect(text).toMatch(/buddies_gateway_pushes_total\{channel="recommendations"\} 2\n/);
    expect(text).toMatch(/buddies_gateway_pushes_total\{channel="metrics"\} 1\n/);
    expect(text).toMatch(/buddies_gateway_coalesced_total\{channel="recommendations"\} 1\n/);
    expect(text).not.toMatch(/buddies_gateway_coalesced_total\{channel="metrics"\}/);
    expect(text).toMatch(/buddies_gateway_push_latency_seconds_bucket\{le="0.005"\} 2\n/);
    expect(text).toMatch(/buddies_gateway_push_latency_seconds_bucket\{le="0.25"\} 3\n/);
    expect(text).toMatch(/buddies_gateway_push_latency_seconds_count 3\n/);
    expect(text).toMatch(/buddies_gateway_connections 3\n/);
    expect(text).toMatch(/buddies_gateway_subscriptions\{channel="metrics"\} 1\n/);
  });
});
