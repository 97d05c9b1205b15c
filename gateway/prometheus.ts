/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways may run in one process, as in tests).
 * Gauges of the current state (connections, subscriptions, buffered bytes, table size) are read at each scrape.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Channel } from './protocol.js';
import type { ErrorCode } from './errors.js';

/** What the metrics read at each scrape. */
export interface GatewayGaugeSource {
  connections(): number;
  subscriptions(channel: Channel): number;
  bufferedBytes(): number;
  queuedMessages(): number;
  latestLists(): number;
  pendingEvents(): number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  connectionOpened(): void;
  push(channel: Channel): void;
  /** Seconds from the list's Kafka write to its hand-off to the socket. */
  pushLatency(seconds: number): void;
  coalesced(channel: Channel): void;
  /** A message not sent: `reason` slow_consumer (queue full), rate_limited (a client's message dropped). */
  dropped(reason: 'slow_consumer' | 'rate_limited'): void;
  error(code: ErrorCode): void;
  events(topic: 'listens' | 'feedback', n: number): void;
  http(route: string, status: number): void;
}

export function createGatewayMetrics(source: GatewayGaugeSource, opts: { readonly defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({ name: 'buddies_gateway_connections', help: 'Open WebSocket connections.', registers, collect() { this.set(source.connections()); } });
  new Gauge({
    name: 'buddies_gateway_subscriptions', help: 'Subscriptions, by channel.', labelNames: ['channel'], registers,
    collect() { for (const c of ['recommendations', 'metrics'] as const) this.set({ channel: c }, source.subscriptions(c)); },
  });
  new Gauge({ name: 'buddies_gateway_send_buffered_bytes', help: 'Bytes handed to sockets and not yet written out, all connections.', registers, collect() { this.set(source.bufferedBytes()); } });
  new Gauge({ name: 'buddies_gateway_send_queued_messages', help: 'Messages waiting behind full send buffers, all connections.', registers, collect() { this.set(source.queuedMessages()); } });
  new Gauge({ name: 'buddies_gateway_latest_lists', help: "Users in this instance's table of latest lists.", registers, collect() { this.set(source.latestLists()); } });
  new Gauge({ name: 'buddies_gateway_events_pending', help: 'Events from apps accepted and not yet acknowledged by Kafka.', registers, collect() { this.set(source.pendingEvents()); } });
  const opened = new Counter({ name: 'buddies_gateway_connections_total', help: 'WebSocket connections opened.', registers });
  const pushes = new Counter({ name: 'buddies_gateway_pushes_total', help: 'Messages pushed to clients (lists and metrics snapshots), by channel.', labelNames: ['channel'], registers });
  const latency = new Histogram({
    name: 'buddies_gateway_push_latency_seconds', help: "From a list's write to Kafka (its record timestamp) to its hand-off to the client's socket.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
  });
  const coalesced = new Counter({ name: 'buddies_gateway_coalesced_total', help: 'Pushes replaced by a newer one while waiting for a slow client, by channel.', labelNames: ['channel'], registers });
  const dropped = new Counter({ name: 'buddies_gateway_dropped_total', help: 'Messages dropped, by reason.', labelNames: ['reason'], registers });
  const errors = new Counter({ name: 'buddies_gateway_errors_total', help: 'Errors answered (WebSocket and HTTP), by code.', labelNames: ['code'], registers });
  const events = new Counter({ name: 'buddies_gateway_events_total', help: 'Events from apps produced to Kafka, by topic.', labelNames: ['topic'], registers });
  const http = new Counter({ name: 'buddies_gateway_http_requests_total', help: 'HTTP requests, by route and status.', labelNames: ['route', 'status'], registers });
  // the per-push counters by channel, bound to their series on first use: an inc with a labels object hashes the
  // labels at every call (these run once per push)
  const byChannel = <T>(bind: (channel: Channel) => T) => {
    const cache = new Map<Channel, T>();
    return (channel: Channel): T => {
      let child = cache.get(channel);
      if (child === undefined) cache.set(channel, (child = bind(channel)));
      return child;
    };
  };
  const pushesOf = byChannel((channel) => pushes.labels({ channel }));
  const coalescedOf = byChannel((channel) => coalesced.labels({ channel }));
  return {
    registry,
    connectionOpened: () => opened.inc(),
    push: (channel) => pushesOf(channel).inc(),
    pushLatency: (s) => latency.observe(Math.max(0, s)),
    coalesced: (channel) => coalescedOf(channel).inc(),
    dropped: (reason) => dropped.inc({ reason }),
    error: (code) => errors.inc({ code }),
    events: (topic, n) => events.inc({ topic }, n),
    http: (route, status) => http.inc({ route, status: String(status) }),
  };
}
