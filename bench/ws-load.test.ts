import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ensureOpenFiles, histogramPercentileLe, openFileLimits, parseCounterSum, parseHistogram, percentile, pidListeningOn, rssOf } from './ws-load.js';

const TEXT = `# HELP buddies_gateway_push_latency_seconds x
# TYPE buddies_gateway_push_latency_seconds histogram
buddies_gateway_push_latency_seconds_bucket{le="0.005"} 10
buddies_gateway_push_latency_seconds_bucket{le="0.01"} 50
buddies_gateway_push_latency_seconds_bucket{le="0.1"} 98
buddies_gateway_push_latency_seconds_bucket{le="1"} 100
buddies_gateway_push_latency_seconds_bucket{le="+Inf"} 100
buddies_gateway_push_latency_seconds_sum 3.2
buddies_gateway_push_latency_seconds_count 100
buddies_gateway_coalesced_total{channel="recommendations"} 4
buddies_gateway_coalesced_total{channel="metrics"} 1
`;

describe('ws load arithmetic', () => {
  it('reads a Prometheus histogram and finds the bucket of a percentile', () => {
    const h = parseHistogram(TEXT, 'buddies_gateway_push_latency_seconds');
    expect([...h]).toEqual([[0.005, 10], [0.01, 50], [0.1, 98], [1, 100], [Infinity, 100]]);
    expect(histogramPercentileLe(h, 50)).toBe(0.01);
    expect(histogramPercentileLe(h, 98)).toBe(0.1);
    expect(histogramPercentileLe(h, 99)).toBe(1);
    expect(histogramPercentileLe(new Map(), 99)).toBeNaN();
    expect(parseCounterSum(TEXT, 'buddies_gateway_coalesced_total')).toBe(5);
  });

  it('takes nearest-rank percentiles of sorted samples', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('process figures from /proc', () => {
  it('finds the process listening on a port, and its memory', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      expect(pidListeningOn(port)).toBe(process.pid);
      expect(rssOf(process.pid)).toBeGreaterThan(10 * 2 ** 20);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('reads the open-file limits and says what to run when the hard one is too low', () => {
    const lim = openFileLimits();
    expect(lim).toBeDefined();
    expect(lim!.soft).toBeLessThanOrEqual(lim!.hard);
    expect(ensureOpenFiles(16)).toBeUndefined();
    if (Number.isFinite(lim!.hard)) expect(ensureOpenFiles(lim!.hard + 1)).toMatch(/hard limit is \d+: raise it/);
  });
});
