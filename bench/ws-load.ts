/**
 * WebSocket fan-out load: N concurrent authenticated clients of the gateway's protocol on loopback, each subscribed
 * to its own recommendations, while refreshed lists for them are produced to the recommendations topic at a stated
 * rate. Measures the connect rate, push latency (a list's `generatedAt`, stamped just before it is handed to the
 * producer, to its receipt by the client), messages per second, memory per connection (the server process's RSS
 * delta / N, and this process's) and errors. Used by `buddies loadtest ws` and bench/ws-fanout.ts.
 *
 * State: none outside the run (clients, samples and counters live in memory; lists go to the configured topic
 * prefix under user ids of this run's own, `load-<run>-<i>`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGatewayClient, GatewayError, type GatewayClient } from '../simulator/gateway-client.js';
import type { RecommendationList, TypedProducer } from '../streams/index.js';

export interface WsLoadOptions {
  /** The stream endpoint, e.g. `ws://127.0.0.1:8080/v1/stream`. */
  readonly url: string;
  readonly clients: number;
  /** Measured seconds of refreshes after every client is connected. */
  readonly durationMs: number;
  /** Refreshed lists produced per second (each for one connected client, round robin). */
  readonly rate: number;
  /** A JWT for a user id (`sub`). */
  readonly token: (userId: string) => string | Promise<string>;
  /** Producer of the recommendations topic the server reads. */
  readonly producer: TypedProducer;
  /** Connects in flight at once (default 200). */
  readonly connectConcurrency?: number;
  /** How long lists may take to arrive after the window (default 10 s). */
  readonly drainMs?: number;
  /** The server's process id, for its RSS; found from the listening port on loopback when not given. */
  readonly serverPid?: number;
  /**
   * The server's Prometheus endpoint (`http://host:port/metrics`): when given, its push-latency histogram
   * (`buddies_gateway_push_latency_seconds`, Kafka write → hand-off to the socket) and coalesced pushes are read
   * before and after the window, the server's own view without the load generator's event loop.
   */
  readonly metricsUrl?: string;
  /** Items per list (default 10, as the recommender's lists). */
  readonly items?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface WsLoadResult {
  readonly clients: number;
  readonly connected: number;
  readonly connectErrors: Readonly<Record<string, number>>;
  readonly connectSeconds: number;
  readonly connectPerSec: number;
  readonly produced: number;
  readonly producedPerSec: number;
  readonly received: number;
  /** Lists pushed during the window and drain, per second of the window. */
  readonly receivedPerSec: number;
  /** Produced lists that never arrived (coalesced by the server or lost). */
  readonly missing: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly serverPid: number | undefined;
  /** Server RSS before the clients connected, after, and after the refreshes (bytes). */
  readonly serverRss: { readonly before?: number; readonly connected?: number; readonly after?: number };
  readonly serverBytesPerConnection?: number;
  readonly clientBytesPerConnection: number;
  /** The load generator's V8 heap (used + external) after connecting minus before, / N: the client objects alone. */
  readonly clientHeapBytesPerConnection: number;
  /** Error frames and failures after connecting, by code; connection drops as `reconnects`. */
  readonly errors: Readonly<Record<string, number>>;
  readonly reconnects: number;
  /** Lists received that belonged to another user (must be 0). */
  readonly foreignLists: number;
  /** The load generator's own event-loop delay p99 (ms): how much of the latency is this process's. */
  readonly clientLoopDelayP99Ms: number;
  /** CPU seconds per second of the window: this process, the server's, and the whole machine's (every process). */
  readonly cpu: { readonly client: number; readonly server?: number; readonly machine?: number };
  /** The server's own push latency over the window, from its histogram (upper bucket bounds, ms), when it has one. */
  readonly serverPush?: {
    readonly count: number; readonly p50LeMs: number; readonly p99LeMs: number; readonly under100ms: number; readonly coalesced: number;
    /** The server's event-loop delay over the window (prom-client's default metrics, reset at each scrape), ms. */
    readonly loopDelayP99Ms: number; readonly loopDelayMaxMs: number;
    /** Seconds the server spent in garbage collection during the window. */
    readonly gcSeconds: number;
  };
  /** The machine's 1-minute load average at the window's start and end. */
  readonly loadAverage: readonly [number, number];
}

export class LoadAborted extends Error {
  override readonly name = 'LoadAborted';
}

/** A handle on V8's full collection (for memory figures that hold live objects, not garbage), or undefined. */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Percentile of sorted values (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Soft and hard limits of open files of this process (Linux /proc; undefined elsewhere). */
export function openFileLimits(pid: number | 'self' = 'self'): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line ? /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(line) : null;
    if (!m) return undefined;
    const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

/**
 * Makes sure this process may open `need` files: raises its soft limit up to the hard one with `prlimit` when
 * needed (Node raises it at start already on most systems). Returns undefined when fine, else one line saying
 * what to run.
 */
export function ensureOpenFiles(need: number): string | undefined {
  const lim = openFileLimits();
  if (!lim || lim.soft >= need) return undefined;
  if (lim.hard < need) {
    return `${need} open files are needed and the hard limit is ${lim.hard}: raise it (as root: prlimit --pid ${process.pid} --nofile=${need}:${need}, or 'ulimit -Hn ${need}' in the shell that starts it) or use fewer clients`;
  }
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${lim.hard === Infinity ? need : lim.hard}:${lim.hard === Infinity ? 'unlimited' : lim.hard}`], { stdio: 'ignore' });
  } catch {
    return `${need} open files are needed and the soft limit is ${lim.soft}: run 'ulimit -n ${need}' first (prlimit could not raise it)`;
  }
  const after = openFileLimits();
  return after && after.soft < need ? `${need} open files are needed and the soft limit is ${after.soft}: run 'ulimit -n ${need}' first` : undefined;
}

/** Resident set size of a process in bytes (Linux /proc), or undefined. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process so far (Linux /proc), or undefined. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100 on Linux)
  } catch {
    return undefined;
  }
}

/** Cumulative bucket counts of a Prometheus histogram in exposition text (`le` in seconds → count), and a counter's sum. */
export function parseHistogram(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

export function parseCounterSum(text: string, name: string): number {
  let sum = 0;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

/** The upper bound (seconds) of the bucket that holds percentile `p` of a cumulative histogram's counts. */
export function histogramPercentileLe(buckets: ReadonlyMap<number, number>, p: number): number {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return NaN;
  for (const le of les) if ((buckets.get(le) ?? 0) >= (p / 100) * total) return le;
  return Infinity;
}

async function scrape(url: string | undefined): Promise<string | undefined> {
  if (!url) return undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

const HIST = 'buddies_gateway_push_latency_seconds';
const COALESCED = 'buddies_gateway_coalesced_total';

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat: every state but idle and iowait), or undefined. */
export function machineBusySeconds(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

/** The id of a process of this user listening on TCP `port` (Linux /proc), or undefined. */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // LISTEN
      if (parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${d}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${d}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(d);
      } catch { /* closed meanwhile */ }
    }
  }
  return undefined;
}

function listFor(userId: string, run: string, n: number, items: number, now: number): RecommendationList {
  return {
    recommendationId: `load-${run}-${n}`, userId, modelVersion: 'loadtest', coldStart: false, generatedAt: now,
    items: Array.from({ length: items }, (_, i) => ({
      playlistId: `pl-${(n * 7 + i * 13) % 100_000}`, rank: i + 1, score: 1 - i / items,
      explanation: { buddyId: `load-${run}-${(n + i) % 1000}`, tasteMatch: 0.5 + i / (4 * items), reason: 'followed by a taste buddy' },
    })),
  };
}

/** Failures the client raises itself (not error frames of the server). */
const CLIENT_CODES: ReadonlySet<string> = new Set(['closed', 'connect_failed', 'ack_timeout', 'queue_full']);

const bump = (o: Record<string, number>, k: string) => { o[k] = (o[k] ?? 0) + 1; };

/** Runs the load; resolves with what it measured, after closing every client. */
export async function runWsLoad(opts: WsLoadOptions): Promise<WsLoadResult> {
  const log = opts.log ?? (() => {});
  const run = randomBytes(4).toString('hex');
  const items = opts.items ?? 10;
  const port = Number(new URL(opts.url).port || 80);
  const serverPid = opts.serverPid ?? pidListeningOn(port);
  const gc = exposeGc();
  const aborted = () => opts.signal?.aborted === true;

  const ids = Array.from({ length: opts.clients }, (_, i) => `load-${run}-${i}`);
  const tokens = await Promise.all(ids.map((id) => opts.token(id)));
  gc?.();
  const serverRss: { before?: number; connected?: number; after?: number } = { before: serverPid ? rssOf(serverPid) : undefined };
  const clientRssBefore = process.memoryUsage().rss;
  const heapOf = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };
  const clientHeapBefore = heapOf();

  // sent lists by id → when produced; a received list is timed once
  const expected = new Map<string, number>();
  const samples: number[] = [];
  let received = 0;
  let foreign = 0;
  const errors: Record<string, number> = {};
  const clientErrors: Record<string, number> = {};
  const connectErrors: Record<string, number> = {};
  const clients: Array<GatewayClient | undefined> = new Array(opts.clients);
  const connected: number[] = [];

  // --- connect ---
  const t0 = performance.now();
  let next = 0;
  let lastLog = 0;
  const progress = (force = false) => {
    const now = performance.now();
    if (!force && now - lastLog < 1000) return;
    lastLog = now;
    const s = (now - t0) / 1000;
    const errs = Object.values(connectErrors).reduce((a, b) => a + b, 0);
    log(`connecting: ${connected.length}/${opts.clients} connected (${Math.round(connected.length / Math.max(s, 1e-3))}/s), ${errs} failed`);
  };
  const worker = async () => {
    while (next < opts.clients && !aborted()) {
      const i = next++;
      const userId = ids[i]!;
      const c = createGatewayClient({
        url: opts.url, token: tokens[i]!, reconnect: { initialMs: 500, maxMs: 5000 }, connectTimeoutMs: 30_000, ackTimeoutMs: 30_000,
        onList: (list, at) => {
          if (list.userId !== userId) { foreign++; return; }
          const sentAt = expected.get(list.recommendationId);
          if (sentAt === undefined) return; // a list of before the window (the current one on subscribe)
          expected.delete(list.recommendationId);
          received++;
          samples.push(at - list.generatedAt);
        },
        onError: (e) => bump(clientErrors, e.code),
      });
      try {
        await c.connect();
        clients[i] = c;
        connected.push(i);
      } catch (err) {
        bump(connectErrors, err instanceof GatewayError ? err.code : 'error');
        await c.close();
      }
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.connectConcurrency ?? 200, opts.clients) }, worker));
  const connectSeconds = (performance.now() - t0) / 1000;
  progress(true);
  if (aborted()) {
    await Promise.all(clients.map((c) => c?.close()));
    throw new LoadAborted('stopped while connecting');
  }
  gc?.();
  serverRss.connected = serverPid ? rssOf(serverPid) : undefined;
  const clientRssConnected = process.memoryUsage().rss;
  const clientHeapConnected = heapOf();

  // --- refreshes at the rate, round robin over the connected clients ---
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuClient0 = process.cpuUsage();
  const cpuServer0 = serverPid ? cpuSecondsOf(serverPid) : undefined;
  const machine0 = machineBusySeconds();
  const metrics0 = await scrape(opts.metricsUrl);
  const load0 = loadavg()[0]!;
  let produced = 0;
  let n = 0;
  const w0 = performance.now();
  lastLog = 0;
  try {
    if (connected.length > 0) {
      while (!aborted()) {
        const elapsed = performance.now() - w0;
        if (elapsed >= opts.durationMs) break;
        const due = Math.floor((elapsed / 1000) * opts.rate) - produced;
        if (due > 0) {
          const now = Date.now();
          const batch = Array.from({ length: due }, () => {
            const userId = ids[connected[n % connected.length]!]!;
            const list = listFor(userId, run, n++, items, now);
            expected.set(list.recommendationId, now);
            return { key: userId, value: list };
          });
          await opts.producer.send('recommendations', batch);
          produced += batch.length;
        }
        if (performance.now() - lastLog >= 1000) {
          lastLog = performance.now();
          const sorted = Float64Array.from(samples).sort();
          log(`refreshing: ${Math.round(elapsed / 1000)}/${Math.round(opts.durationMs / 1000)} s, ${produced} lists produced (${Math.round(produced / Math.max(elapsed / 1000, 1e-3))}/s), ${received} received, p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, ${Object.values(clientErrors).reduce((a, b) => a + b, 0)} errors`);
        }
        await new Promise((r) => setTimeout(r, 5)); // paces the producer (the rate's next tick), not a synchronisation
      }
    }
    const windowSeconds = (performance.now() - w0) / 1000;
    // drain: every produced list pushed, or the drain deadline
    const drainEnd = Date.now() + (opts.drainMs ?? 10_000);
    while (expected.size > 0 && Date.now() < drainEnd && !aborted()) await new Promise((r) => setTimeout(r, 20));
    loop.disable();
    const cpuClient = process.cpuUsage(cpuClient0);
    const cpuServer1 = serverPid ? cpuSecondsOf(serverPid) : undefined;
    const machine1 = machineBusySeconds();
    const metrics1 = await scrape(opts.metricsUrl);
    let serverPush: WsLoadResult['serverPush'];
    if (metrics0 !== undefined && metrics1 !== undefined) {
      const a = parseHistogram(metrics0, HIST);
      const b = parseHistogram(metrics1, HIST);
      const delta = new Map([...b].map(([le, n]) => [le, n - (a.get(le) ?? 0)]));
      const count = delta.get(Infinity) ?? 0;
      if (b.size > 0) {
        serverPush = {
          count, p50LeMs: histogramPercentileLe(delta, 50) * 1000, p99LeMs: histogramPercentileLe(delta, 99) * 1000,
          under100ms: count ? (delta.get(0.1) ?? 0) / count : NaN,
          coalesced: parseCounterSum(metrics1, COALESCED) - parseCounterSum(metrics0, COALESCED),
          loopDelayP99Ms: parseCounterSum(metrics1, 'nodejs_eventloop_lag_p99_seconds') * 1000,
          loopDelayMaxMs: parseCounterSum(metrics1, 'nodejs_eventloop_lag_max_seconds') * 1000,
          gcSeconds: parseCounterSum(metrics1, 'nodejs_gc_duration_seconds_sum') - parseCounterSum(metrics0, 'nodejs_gc_duration_seconds_sum'),
        };
      }
    }
    const cpuWindow = (performance.now() - w0) / 1000;
    gc?.();
    serverRss.after = serverPid ? rssOf(serverPid) : undefined;
    const sorted = Float64Array.from(samples).sort();
    const reconnects = clients.reduce((a, c) => a + (c?.stats.reconnects ?? 0), 0);
    // error frames the server sent (all of them, by code), and the client's own failures (a connection given up)
    for (const c of clients) for (const [code, k] of Object.entries(c?.stats.errors ?? {})) errors[code] = (errors[code] ?? 0) + k;
    for (const [code, k] of Object.entries(clientErrors)) if (CLIENT_CODES.has(code)) errors[code] = (errors[code] ?? 0) + k;
    const result: WsLoadResult = {
      clients: opts.clients, connected: connected.length, connectErrors, connectSeconds, connectPerSec: connected.length / Math.max(connectSeconds, 1e-3),
      produced, producedPerSec: produced / Math.max(windowSeconds, 1e-3), received, receivedPerSec: received / Math.max(windowSeconds, 1e-3),
      missing: expected.size,
      latencyMs: {
        p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : NaN,
        mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
      },
      serverPid, serverRss,
      serverBytesPerConnection: serverRss.before !== undefined && serverRss.connected !== undefined && connected.length > 0
        ? (serverRss.connected - serverRss.before) / connected.length : undefined,
      clientBytesPerConnection: connected.length > 0 ? (clientRssConnected - clientRssBefore) / connected.length : NaN,
      clientHeapBytesPerConnection: connected.length > 0 ? (clientHeapConnected - clientHeapBefore) / connected.length : NaN,
      errors, reconnects, foreignLists: foreign,
      clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
      cpu: {
        client: (cpuClient.user + cpuClient.system) / 1e6 / cpuWindow,
        server: cpuServer0 !== undefined && cpuServer1 !== undefined ? (cpuServer1 - cpuServer0) / cpuWindow : undefined,
        machine: machine0 !== undefined && machine1 !== undefined ? (machine1 - machine0) / cpuWindow : undefined,
      },
      loadAverage: [load0, loadavg()[0]!],
      serverPush,
    };
    if (aborted()) throw new LoadAborted('stopped');
    return result;
  } finally {
    loop.disable();
    log(`closing ${connected.length} connections`);
    for (let i = 0; i < clients.length; i += 500) await Promise.all(clients.slice(i, i + 500).map((c) => c?.close()));
  }
}

/** The result as Markdown lines (a table of the figures). */
export function wsLoadTable(rows: ReadonlyArray<{ system: string; r: WsLoadResult }>): string {
  const f = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const kib = (b: number | undefined) => (b === undefined || !Number.isFinite(b) ? 'n/a' : (b / 1024).toFixed(1));
  const errs = (o: Readonly<Record<string, number>>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
  return [
    '| system | clients connected | connect/s | lists/s produced | pushes/s received | missing | p50 ms | p95 ms | p99 ms | max ms | server\'s own push p99 (bucket) | server KiB/conn | client KiB/conn | server cores | loadgen cores | machine cores busy | loadgen loop p99 ms | connect errors | errors | reconnects | foreign lists |',
    `| --- |${' ---: |'.repeat(16)} --- | --- | ---: | ---: |`,
    ...rows.map(({ system, r }) => `| ${system} | ${r.connected}/${r.clients} | ${f(r.connectPerSec)} | ${f(r.producedPerSec)} | ${f(r.receivedPerSec)} | ${r.missing} | ${f(r.latencyMs.p50, 1)} | ${f(r.latencyMs.p95, 1)} | ${f(r.latencyMs.p99, 1)} | ${f(r.latencyMs.max, 0)} | ${r.serverPush ? `≤ ${f(r.serverPush.p99LeMs)} ms` : 'n/a'} | ${kib(r.serverBytesPerConnection)} | ${kib(r.clientBytesPerConnection)} | ${f(r.cpu.server, 2)} | ${f(r.cpu.client, 2)} | ${f(r.cpu.machine, 2)} | ${f(r.clientLoopDelayP99Ms, 1)} | ${errs(r.connectErrors)} | ${errs(r.errors)} | ${r.reconnects} | ${r.foreignLists} |`),
  ].join('\n');
}
