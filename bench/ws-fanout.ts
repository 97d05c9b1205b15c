/**
 * WebSocket fan-out benchmark: the gateway (`buddies gateway`, a process of its own) beside a reference that does
 * the least a Kafka → WebSocket fan-out does in Node (bench/ws-fanout-reference.ts, also a process of its own),
 * under the same load from bench/ws-load.ts: N concurrent authenticated clients on loopback, each subscribed to its
 * own recommendations, and refreshed lists produced to the recommendations topic at a stated rate. Measures the
 * connect rate, push latency (generatedAt → receipt), pushes per second, memory per connection and errors.
 *
 * Run by `buddies loadtest fanout` (cli/loadtest.ts): needs the local stack (Kafka, registry, ClickHouse for the
 * gateway's readiness) and the compiled CLI (npm run build), which it starts as `node bin/buddies.js gateway`.
 * Each system gets topics of its own (a fresh prefix, deleted at the end, on Ctrl-C too).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import type { BuddiesConfig } from '../config/index.js';
import { connectStreams, createTypedProducer, ensureTopics, TOPIC_KEYS } from '../streams/index.js';
import type { ReferenceArgs, ReferenceMessage } from './ws-fanout-reference.js';
import { LoadAborted, openFileLimits, runWsLoad, wsLoadTable, type WsLoadResult } from './ws-load.js';

export interface WsFanoutOptions {
  readonly config: BuddiesConfig;
  readonly clients: number;
  readonly seconds: number;
  readonly rate: number;
  readonly systems: ReadonlyArray<'gateway' | 'reference'>;
  readonly concurrency: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface WsFanoutRun {
  readonly system: 'gateway' | 'reference';
  readonly r: WsLoadResult;
  readonly serverFiles?: { soft: number; hard: number };
}

export interface WsFanoutResult {
  readonly at: string;
  readonly runs: readonly WsFanoutRun[];
}

/**
 * Runs the load against each system in turn (never both at once), each on topics of its own, deleted at the end
 * (on an abort too). Throws {@link LoadAborted} when `signal` stopped it.
 */
export async function benchmarkWsFanout(opts: WsFanoutOptions): Promise<WsFanoutResult> {
  const { config, clients, seconds, rate, log } = opts;
  const run = randomBytes(4).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const children = new Set<ChildProcess>();
  const prefixes: string[] = [];
  const token = (userId: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(secret));

  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
  }

  async function waitReady(url: string, child: ChildProcess, deadlineMs: number, childLog: () => string): Promise<void> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited ${child.exitCode}:\n${childLog()}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch { /* not listening yet */ }
      if (Date.now() > end) throw new Error(`${url} not ready after ${deadlineMs / 1000} s:\n${childLog()}`);
      await new Promise((r) => setTimeout(r, 200)); // polls the server's readiness (a condition with a deadline)
    }
  }

  function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.kill('SIGTERM');
    });
  }


  async function measure(system: 'gateway' | 'reference'): Promise<WsFanoutRun> {
    const prefix = `bench-ws-${run}-${system}.`;
    prefixes.push(prefix);
    const { kafka, serde, topics } = await connectStreams(config, { role: `bench-ws-${system}`, prefix, keys: ['recommendations', 'listens', 'feedback'] });
    await ensureTopics(kafka, topics, TOPIC_KEYS);
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    let child: ChildProcess;
    let output = '';
    let url: string;
    let metricsUrl: string | undefined;
    const started = Date.now();
    if (system === 'gateway') {
      const port = await freePort();
      child = spawn(process.execPath, [join(config.rootDir, 'bin', 'buddies.js'), 'gateway'], {
        env: {
          KAFKA_BROKERS: config.kafka.brokers.join(','), SCHEMA_REGISTRY_URL: config.registry.url, CLICKHOUSE_URL: config.clickhouse.url,
          CLICKHOUSE_DATABASE: config.clickhouse.database, CLICKHOUSE_USER: config.clickhouse.username, CLICKHOUSE_PASSWORD: config.clickhouse.password,
          BUDDIES_STACK_DIR: config.stackDir, BUDDIES_MODELS_DIR: config.modelsDir, BUDDIES_CLIENT_ID: `bench-ws-${run}`,
          BUDDIES_TOPIC_PREFIX: prefix, BUDDIES_GATEWAY_PORT: String(port), BUDDIES_JWT_SECRET: secret, BUDDIES_METRICS_PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.stdout!.on('data', (b: Buffer) => { output = (output + b.toString()).slice(-8000); });
      child.stderr!.on('data', (b: Buffer) => { output = (output + b.toString()).slice(-8000); });
      await waitReady(`http://127.0.0.1:${port}/readyz`, child, 120_000, () => output);
      url = `ws://127.0.0.1:${port}/v1/stream`;
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
    } else {
      const here = fileURLToPath(import.meta.url);
      const args: ReferenceArgs = {
        brokers: config.kafka.brokers, registryUrl: config.registry.url, schemasDir: join(config.rootDir, 'schemas'), prefix, groupId: `${prefix}reference`, secret,
      };
      child = fork(join(here, '..', `ws-fanout-reference${extname(here)}`), [JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      children.add(child);
      child.stderr!.on('data', (b: Buffer) => { output = (output + b.toString()).slice(-8000); });
      const port = await new Promise<number>((resolve, reject) => {
        child.on('message', (m: ReferenceMessage) => (m.type === 'ready' ? resolve(m.port) : reject(new Error(`the reference failed: ${m.error}`))));
        child.once('exit', (code) => reject(new Error(`the reference exited ${code}:\n${output}`)));
      });
      url = `ws://127.0.0.1:${port}/v1/stream`;
    }
    log(`${system} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid}, ${url})`);
    const serverFiles = child.pid ? openFileLimits(child.pid) : undefined;
    try {
      const r = await runWsLoad({
        url, clients, durationMs: seconds * 1000, rate, token, producer, serverPid: child.pid, metricsUrl, connectConcurrency: opts.concurrency,
        log: (l) => log(`${system}: ${l}`), signal: opts.signal,
      });
      return { system, r, serverFiles };
    } finally {
      await stop(child);
      children.delete(child);
      await producer.disconnect();
      if (output.trim() && /error|warn/i.test(output)) log(`${system} log (last lines):\n${output.split('\n').slice(-15).join('\n')}`);
    }
  }

  async function cleanup(): Promise<void> {
    for (const c of children) await stop(c);
    if (prefixes.length === 0) return;
    const { kafka } = await connectStreams(config, { role: 'bench-ws-cleanup', keys: [] });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const mine = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
      if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
      log(`deleted ${mine.length} topics`);
    } finally {
      await admin.disconnect();
    }
  }

  const runs: WsFanoutRun[] = [];
  const at = new Date().toISOString();
  try {
    for (const system of opts.systems) {
      if (opts.signal?.aborted) break;
      runs.push(await measure(system));
    }
  } finally {
    await cleanup().catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (opts.signal?.aborted) throw new LoadAborted('stopped');
  return { at, runs };
}

const systemName = (s: string) => (s === 'gateway' ? 'gateway (buddies gateway)' : 'reference (bare ws + kafkajs, bench/ws-fanout-reference.ts)');

/** The result as a Markdown table. */
export function wsFanoutTable(result: WsFanoutResult): string {
  return wsLoadTable(result.runs.map(({ system, r }) => ({ system: systemName(system), r })));
}

/** The result as a Markdown page (bench/results/ws-fanout.md): the method, the table and the raw memory figures. */
export function wsFanoutMarkdown(result: WsFanoutResult, opts: Pick<WsFanoutOptions, 'clients' | 'seconds' | 'rate' | 'concurrency'>, command: string): string {
  const mib = (b: number | undefined) => (b === undefined ? 'n/a' : (b / 2 ** 20).toFixed(0));
  const detail = result.runs.map(({ system, r, serverFiles }) => `- ${systemName(system)}: server RSS ${mib(r.serverRss.before)} MiB before the clients, ${mib(r.serverRss.connected)} MiB with ${r.connected} connected, ${mib(r.serverRss.after)} MiB after the refreshes; load generator ${(r.clientHeapBytesPerConnection / 1024).toFixed(1)} KiB of V8 heap per connection; open-file limit ${serverFiles ? `${serverFiles.soft}/${serverFiles.hard}` : 'n/a'}; connect ${r.connectSeconds.toFixed(1)} s; load average ${r.loadAverage[0].toFixed(1)} → ${r.loadAverage[1].toFixed(1)}; ${r.produced} lists produced, ${r.received} received; mean ${r.latencyMs.mean.toFixed(1)} ms${r.serverPush ? `; the server's own histogram (Kafka write → hand-off to the socket): ${r.serverPush.count} pushes, p50 ≤ ${r.serverPush.p50LeMs} ms, p99 ≤ ${r.serverPush.p99LeMs} ms, ${(100 * r.serverPush.under100ms).toFixed(1)}% under 100 ms, ${r.serverPush.coalesced} coalesced; its event-loop delay p99 ${r.serverPush.loopDelayP99Ms.toFixed(0)} ms, max ${r.serverPush.loopDelayMaxMs.toFixed(0)} ms; ${r.serverPush.gcSeconds.toFixed(2)} s in GC` : ''}.`).join('\n');
  return `# WebSocket fan-out: ${opts.clients.toLocaleString('en')} clients, push latency and memory per connection

Command: \`${command}\`. Run ${result.at}; ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; the local stack (Kafka, registry, ClickHouse) on the same machine.
Load (bench/ws-load.ts, one process): ${opts.clients} clients connect (${opts.concurrency} connects in flight), each subscribes to its own
recommendations; then for ${opts.seconds} s refreshed lists of 10 items, round robin over the clients, are produced to the recommendations
topic at ${opts.rate}/s, each stamped \`generatedAt\` just before it is handed to the (idempotent, acks=all) producer. Latency: \`generatedAt\`
to the client's receipt of the push, so it holds the produce, the server's fetch, decode and send, and the load generator's own event
loop (its p99 delay is a column). Memory per connection: the server process's RSS with every client connected minus before, / N
(and the same for the load generator). Cores: CPU seconds per second of the refresh window (machine: every process, the broker and
other people's work included). The two systems never run at once.

${wsFanoutTable(result)}

${detail}
`;
}
