/**
 * Event-to-list latency of the live recommender (`buddies bench latency`, results in bench/results/latency.md).
 *
 * On the running stack, on topics of its own (a fresh prefix, deleted at the end): generates a world, imports it,
 * trains and announces the first track embeddings into a temporary model registry, and starts the recommender as
 * the deployment runs it (`node bin/buddies.js process recommender`, a child process with an event loop of its own;
 * strategy buddies, `--refresh-every 1`: a list on every listen; `--from latest`). Then, per offered rate, a paced
 * producer sends listens of the world's users (keyed by user, unique event ids) and a read_committed consumer of
 * the recommendations topic times each list from the moment its listen was handed to the producer to the moment
 * the list was fetched, that is, visible once its transaction committed.
 *
 * Matching a list to its listen: lists carry no id of the event that triggered them (and schemas and processors
 * are not the benchmark's to change), so the match is by user and order. With `--refresh-every 1` every listen of a
 * user gives exactly one list; a user's listens share a partition, the recommender handles them in order, and the
 * user's lists go to the same partition of the recommendations topic in that order (each batch's outputs commit in
 * one transaction). So the n-th list of a user seen by the consumer answers that user's n-th listen. Two checks
 * back it: no list may carry a Kafka timestamp (stamped by the recommender's producer) earlier than its matched
 * listen was produced (`outOfOrder`), and no list may arrive for a user with no listen outstanding (`stray`).
 * The recommender starts at the latest offsets, so before any measured listen, probe listens (users of the
 * benchmark's own, lists ignored) are sent until its group has committed an offset on every partition: no listen
 * of the measurement can fall before its starting position.
 *
 * The reference, in the same run and at the same rates: a raw kafkajs exactly-once pass-through
 * (bench/latency-passthrough.ts, also a child process) over a listens topic of its own, matched exactly by an id
 * header it copies into its output.
 *
 * The two systems are measured one after the other, never at once: each phase (warm-up, then the measured window)
 * runs while the other system is idle, and the next phase starts only once every list of the previous one arrived.
 * A recommender that saturated (its lists not all in within the drain limit) or stopped is stopped and, for the next
 * rate, replaced by a fresh one (a new consumer group, at the latest offsets; lists the old one stamped are
 * ignored), so every rate gets its own attempt. A saturated reference is not run at higher rates.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { extname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Consumer, Kafka } from 'kafkajs';
import type { BuddiesConfig } from '../config/index.js';
import { generateWorld } from '../data/index.js';
import { importDataset } from '../ingest/index.js';
import { recommenderApplicationId, trainAndAnnounceEmbeddings, USERS_STORE } from '../processors/index.js';
import { createModelRegistry } from '../registry/index.js';
import { codeVersion } from '../runs/provenance.js';
import { readPidFile } from '../stack/processes.js';
import {
  changelogTopic, connectStreams, createTypedProducer, ensureTopics, errorMessage, groupLag, partitionOf, TOPICS, withRetry, type ListenEvent, type TopicKey,
  type TypedProducer,
} from '../streams/index.js';
import { BENCH_ID_HEADER, type PassThroughArgs, type PassThroughMessage, type PassThroughStats } from './latency-passthrough.js';

export type LatencySystem = 'recommender' | 'reference';

export interface LatencyBenchOptions {
  readonly config: BuddiesConfig;
  /** Offered loads, listens per second (run in ascending order). */
  readonly rates: readonly number[];
  /** Measured seconds per rate and system. */
  readonly seconds: number;
  /** Seconds at the rate before each measured window (not measured). */
  readonly warmupSeconds: number;
  /** Users of the generated world; every one of them listens. */
  readonly users: number;
  readonly playlists: number;
  readonly seed: number;
  /** How long a phase's lists may take to arrive after its window ends before the system counts as saturated. */
  readonly drainSeconds: number;
  /** Measure the reference too (default true). */
  readonly reference?: boolean;
  /** A folder for a V8 CPU profile of each recommender process (`node --cpu-prof`), written when it exits. */
  readonly profileDir?: string;
  readonly log?: (line: string) => void;
  /** Aborting stops the run at the next step; everything is still cleaned up. */
  readonly signal?: AbortSignal;
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyPhase {
  readonly system: LatencySystem;
  readonly rate: number;
  /** Set when the phase did not run (the reference saturated at a lower rate). */
  readonly skipped?: string;
  /** Set when the system's process stopped on its own during the phase: why, and when (seconds after the warm-up began). */
  readonly crashed?: { readonly reason: string; readonly afterSeconds: number; readonly inWarmup: boolean };
  /** Length of the measured window. */
  readonly seconds: number;
  /** Listens sent in the window, and their rate. */
  readonly sent: number;
  readonly sentPerSec: number;
  /** Lists (or pass-through records) of the window's listens received, by the end of the drain. */
  readonly lists: number;
  /** Lists of any listen received during the window, per second: the throughput the system achieved. */
  readonly achievedPerSec: number;
  /** Listen produced → list visible to a read_committed consumer, ms; a list that never came counts as Infinity. */
  readonly latency: Percentiles;
  /** Listen produced → the list's Kafka timestamp (when the processor's producer took it), ms. */
  readonly toStamp: Percentiles;
  /** The list's Kafka timestamp → visible (the rest of the transaction, its commit, the consumer's fetch), ms. */
  readonly stampToVisible: Percentiles;
  /** Records the system's consumer group had not committed on its listens topic when the window ended (null: stopped). */
  readonly lagAtEnd: number | null;
  /** Listens of the window without their list when the window ended. */
  readonly inFlightAtEnd: number;
  /** Seconds after the window until every list had arrived; null: not within the drain limit, or stopped. */
  readonly drainSeconds: number | null;
  /** Lists stamped before their matched listen was produced (0 when the user/order match holds). */
  readonly outOfOrder: number;
  /** Cores used during the window: this process (load and lists consumer), the system's process, the broker, the machine. */
  readonly cpu: { readonly bench: number; readonly system: number; readonly broker: number | null; readonly machine: number };
  /** The system's committed batches in the window (runtime metrics; the pass-through's own counters). */
  readonly batches: { readonly count: number; readonly meanMs: number; readonly recordsPerBatch: number } | null;
  /** The pass-through's mean time per batch in send, offsets and commit (ms), and its sends of 50 ms or more. */
  readonly steps: { readonly sendMs: number; readonly offsetsMs: number; readonly commitMs: number; readonly slowSends: number } | null;
  /** The paced producer's worst lateness against its schedule, ms, and its mean records per send. */
  readonly producer: { readonly maxSlipMs: number; readonly recordsPerSend: number };
}

export interface LatencyBenchResult {
  readonly startedAt: string;
  readonly codeVersion: string | undefined;
  readonly machine: { readonly cores: number; readonly memoryGiB: number; readonly node: string };
  readonly world: { readonly users: number; readonly playlists: number; readonly seed: number; readonly importedEvents: number };
  readonly setupSeconds: { readonly generate: number; readonly import: number; readonly embeddings: number; readonly recommenderStart: number };
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly drainLimitSeconds: number;
  readonly phases: readonly LatencyPhase[];
  /** Recommender processes started (one, plus one per rate after a saturation or a stop). */
  readonly recommenders: number;
  /** Lists that arrived for a user with no listen outstanding (0 when the match holds). */
  readonly stray: number;
  /** What the recommender wrote to Kafka, read from the local broker's log folders (null: not readable). */
  readonly written: {
    readonly changelogRecords: number;
    readonly changelogBytes: number;
    readonly lists: number;
    readonly listBytes: number;
  } | null;
  /** Lines the recommender processes logged at WARN or ERROR, or about aborted batches or retries (the first 50). */
  readonly recommenderWarnings: readonly string[];
}

/** The topics `buddies process recommender` requires. */
const RECOMMENDER_TOPICS: readonly TopicKey[] = ['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'modelAnnouncements', 'interactionWindows', 'deadLetters'];

/** Users of the probe listens that tell when a recommender consumes every partition (their lists are ignored). */
const PROBE_PREFIX = 'bench-probe-';

/** Milliseconds since the epoch with sub-millisecond resolution (comparable with Date.now() of other processes). */
const nowMs = () => performance.timeOrigin + performance.now();

/** The pacing tick: a send every 5 ms at most (about 5 listens per send at 1,000/s, 25 at 5,000/s). */
const TICK_MS = 5;

/** The run was aborted (Ctrl-C); everything it made was cleaned up. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

function percentiles(values: number[], missing: number): Percentiles {
  const all = values.slice().sort((a, b) => a - b);
  for (let i = 0; i < missing; i++) all.push(Infinity);
  if (all.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const at = (q: number) => all[Math.min(all.length - 1, Math.max(0, Math.ceil(q * all.length) - 1))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: all[all.length - 1]! };
}

const NO_PERCENTILES: Percentiles = { p50: NaN, p95: NaN, p99: NaN, max: NaN };

/** CPU seconds (user + system) of a process from /proc, or null where it cannot be read. */
function procCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), or null. */
function machineJiffies(): { busy: number; total: number } | null {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const n = f.map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** Bytes of a topic's log segments in a local broker's data folder, or null. */
function topicBytes(dataDir: string, topic: string): number | null {
  try {
    let bytes = 0;
    for (const d of readdirSync(dataDir)) {
      if (!d.startsWith(`${topic}-`) || !/^\d+$/.test(d.slice(topic.length + 1))) continue;
      for (const f of readdirSync(join(dataDir, d))) if (f.endsWith('.log')) bytes += statSync(join(dataDir, d, f)).size;
    }
    return bytes;
  } catch {
    return null;
  }
}

/** Fails fast, with the socket's error (ECONNREFUSED host:port), when the broker does not accept connections. */
function probeBroker(broker: string): Promise<void> {
  const i = broker.lastIndexOf(':');
  const host = broker.slice(0, i);
  const port = Number(broker.slice(i + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connect ETIMEDOUT ${broker}`));
    });
    socket.once('error', reject);
  });
}

/** Sums a Prometheus metric's samples whose labels contain `match`. */
function metricSum(text: string, name: string, match: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (match && !line.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The world's users and, per community, its most played tracks (the listens draw from them). */
async function loadListeners(world: string, users: number): Promise<{ users: Array<{ id: string; communities: number[] }>; tracks: string[][] }> {
  const list = (await readFile(join(world, 'truth/users.jsonl'), 'utf8')).trim().split('\n').slice(0, users)
    .map((l) => JSON.parse(l) as { user: string; communities: number[] })
    .map((u) => ({ id: u.user, communities: u.communities }));
  const byCommunity: Array<Array<[string, number]>> = [];
  for (const line of (await readFile(join(world, 'truth/tracks.tsv'), 'utf8')).trim().split('\n')) {
    const [id, c, rank] = line.split('\t');
    const k = Number(c);
    if (!id || !Number.isInteger(k) || k < 0) continue;
    (byCommunity[k] ??= []).push([id, Number(rank)]);
  }
  const tracks = byCommunity.map((ts) => (ts ?? []).sort((a, b) => a[1] - b[1]).slice(0, 300).map(([id]) => id));
  return { users: list, tracks };
}

/** A child process's last lines of stderr, and the lines worth reporting. */
class ChildLog {
  readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly warn: RegExp, readonly warnings: string[] = []) {}
  push(chunk: Buffer): string[] {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) {
      this.lines.push(l);
      if (this.warn.test(l) && this.warnings.length < 50) this.warnings.push(l);
    }
    if (this.lines.length > 200) this.lines.splice(0, this.lines.length - 200);
    return parts;
  }
  tail(n = 15): string {
    return [...this.lines, ...(this.partial ? [this.partial] : [])].slice(-n).join('\n');
  }
}

/** A child process that stopped on its own, with the reason it gave and its last lines. */
export class ChildFailure extends Error {
  override readonly name = 'ChildFailure';
  readonly reason: string;
  constructor(readonly who: string, how: string, childLog: ChildLog) {
    const said = [...childLog.lines].reverse()
      .map((l) => /stopped for good \((.*)\); exiting/.exec(l)?.[1] ?? /cannot go on: (.*)/.exec(l)?.[1])
      .find((x) => x !== undefined);
    super(`${who} exited (${how})${said ? `: ${said}` : ''}\n${childLog.tail()}`);
    this.reason = `exited ${how}${said ? `: ${said}` : ''}`;
  }
}

/** Stops a child: SIGTERM, then SIGKILL when it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess | undefined, graceMs = 15_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** `p`, or an error naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with {@link Interrupted} when `signal` aborts; never settles without one. */
function abortPromise(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(new Interrupted());
    signal.addEventListener('abort', () => reject(new Interrupted()), { once: true });
  });
}

/** Deletes the run's topics (its prefix: inputs, outputs, changelogs) and consumer groups. */
async function deleteEverything(kafka: Kafka, prefix: string, groupPrefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

interface Pending {
  readonly t: number;
  readonly phase: number;
}

interface PhaseCounters {
  sent: number;
  received: number;
  latencies: number[];
  toStamp: number[];
  stampToVisible: number[];
  outOfOrder: number;
}

/** One recommender process and what the benchmark knows of it. */
interface Recommender {
  readonly child: ChildProcess;
  readonly appId: string;
  metricsPort: number;
  /** Lists stamped before this instant came from an earlier process. */
  readonly since: number;
  failure?: ChildFailure;
}

export async function benchmarkLatency(opts: LatencyBenchOptions): Promise<LatencyBenchResult> {
  const { config } = opts;
  const log = opts.log ?? (() => {});
  const rates = [...new Set(opts.rates)].sort((a, b) => a - b);
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1)) throw new RangeError('rates must be positive integers');
  const withReference = opts.reference ?? true;
  const startedAt = new Date().toISOString();
  const check = () => {
    if (opts.signal?.aborted) throw new Interrupted();
  };
  const broker = config.kafka.brokers[0];
  if (!broker) throw new Error('no Kafka broker configured');
  await probeBroker(broker);

  const id = randomBytes(4).toString('hex');
  const prefix = `bench-latency-${id}.`;
  const groupPrefix = `bench-latency-${id}`;
  const refGroup = `${groupPrefix}.reference`;
  const rec = await connectStreams(config, { role: 'bench-latency', prefix, keys: ['playlists', 'listens', 'feedback', 'recommendations', 'modelAnnouncements'] });
  const ref = await connectStreams(config, { role: 'bench-latency-ref', prefix: `${prefix}ref.`, keys: ['listens'] });
  const dir = await mkdtemp(join(tmpdir(), 'buddies-bench-latency-'));
  const modelsDir = join(dir, 'models');
  const world = join(dir, 'world');
  const kafka: Kafka = rec.kafka;
  const recListens = rec.topics.name('listens');
  const recLists = rec.topics.name('recommendations');
  const refListens = ref.topics.name('listens');
  const refOut = `${prefix}ref.out`;
  const partitions = TOPICS.listens.partitions;

  const recommenders: Recommender[] = [];
  let current: Recommender | undefined;
  let refChild: ChildProcess | undefined;
  let refFailure: ChildFailure | undefined;
  let recProducer: TypedProducer | undefined;
  let refProducer: TypedProducer | undefined;
  let lists: Consumer | undefined;
  let seq = 0;
  /** Children stopped on purpose (saturated, or the end of the run): their exit is no failure. */
  const stopped = new Set<ChildProcess>();
  const stop = (c: ChildProcess | undefined, graceMs?: number) => {
    if (c) stopped.add(c);
    return stopChild(c, graceMs);
  };
  /** Called on every list received and every child stopping: a drain waiting on a system checks again. */
  let onChange: (() => void) | undefined;
  const recWarnings: string[] = [];
  const refLog = new ChildLog(/kafkajs (WARN|ERROR)|failed/i);
  const failureOf = (system: LatencySystem) => (system === 'recommender' ? current?.failure : refFailure);

  try {
    // --- set-up: topics, world, import, embeddings ---
    // idempotent, so retried whole: a broker still deleting an earlier run's topics may answer that it does not
    // host a partition of a topic it has just created
    await withRetry(async () => {
      await ensureTopics(kafka, rec.topics, RECOMMENDER_TOPICS);
      await ensureTopics(kafka, ref.topics, ['listens']);
      const admin = kafka.admin();
      await admin.connect();
      try {
        if (!(await admin.listTopics()).includes(refOut)) {
          await admin.createTopics({ waitForLeaders: true, topics: [{ topic: refOut, numPartitions: partitions, replicationFactor: 1 }] });
        }
      } finally {
        await admin.disconnect();
      }
    }, { retries: 10, initialMs: 300, maxMs: 3000, onRetry: (err, n) => log(`creating the topics: ${errorMessage(err)} (retry ${n})`) });
    check();
    let t = performance.now();
    log(`generating a world of ${opts.users} users and ${opts.playlists} playlists (seed ${opts.seed}) in ${world}`);
    await generateWorld({ users: opts.users, playlists: opts.playlists, seed: opts.seed, out: world });
    const generateSeconds = (performance.now() - t) / 1000;
    check();
    t = performance.now();
    recProducer = createTypedProducer({ kafka, serde: rec.serde });
    await recProducer.connect();
    const imported = await importDataset({ kind: 'mpd', path: world, producer: recProducer, stateFile: join(dir, 'import-state.json') });
    const importSeconds = (performance.now() - t) / 1000;
    log(`imported ${imported.counts.playlists} playlists, ${imported.counts.listens} listens, ${imported.counts.follows} follows in ${importSeconds.toFixed(1)} s`);
    check();
    t = performance.now();
    await trainAndAnnounceEmbeddings({ kafka, serde: rec.serde, registry: createModelRegistry(modelsDir), log: (l) => log(l) });
    const embeddingsSeconds = (performance.now() - t) / 1000;
    check();
    const { users, tracks } = await loadListeners(world, opts.users);
    if (users.length === 0) throw new Error(`no users in ${world}`);

    // --- the lists consumer ---
    const phases: PhaseCounters[] = [];
    const recQueues = new Map<string, Pending[]>();
    const refPending = new Map<string, Pending>();
    const outstanding: Record<LatencySystem, number> = { recommender: 0, reference: 0 };
    let stray = 0;
    let window: { system: LatencySystem; from: number; to: number; received: number } | undefined;
    const received = (system: LatencySystem, p: Pending, visible: number, stamp: number) => {
      outstanding[system]--;
      const s = phases[p.phase]!;
      s.received++;
      s.latencies.push(visible - p.t);
      s.toStamp.push(stamp - p.t);
      s.stampToVisible.push(visible - stamp);
      if (stamp < p.t - 1) s.outOfOrder++; // Kafka timestamps are whole milliseconds
      if (window && window.system === system && visible >= window.from && visible <= window.to) window.received++;
    };
    lists = kafka.consumer({ groupId: `${groupPrefix}.lists`, readUncommitted: false, maxWaitTimeInMs: 100 });
    const joined = new Promise<void>((resolve) => lists!.on(lists!.events.GROUP_JOIN, () => resolve()));
    await lists.connect();
    await lists.subscribe({ topics: [recLists, refOut], fromBeginning: true });
    await lists.run({
      eachBatch: async ({ batch }) => {
        const visible = nowMs();
        if (batch.topic === recLists) {
          const since = current?.since ?? Infinity;
          for (const m of batch.messages) {
            const user = m.key?.toString() ?? '';
            if (user.startsWith(PROBE_PREFIX) || Number(m.timestamp) < since) continue; // a probe's, or an earlier process's
            const p = recQueues.get(user)?.shift();
            if (p) received('recommender', p, visible, Number(m.timestamp));
            else stray++;
          }
        } else {
          for (const m of batch.messages) {
            const key = m.value?.toString() ?? '';
            const p = refPending.get(key);
            if (p) {
              refPending.delete(key);
              received('reference', p, visible, Number(m.timestamp));
            } else stray++;
          }
        }
        onChange?.();
      },
    });
    await within(Promise.race([joined, abortPromise(opts.signal)]), 120_000, 'the lists consumer to join its group');

    // --- the recommender, as deployed: a process of its own ---
    const launcher = join(config.rootDir, 'bin', 'buddies.js');
    const startRecommender = async (): Promise<Recommender> => {
      const n = recommenders.length;
      const groups = n === 0 ? groupPrefix : `${groupPrefix}-${n}`;
      const appId = recommenderApplicationId(groups, 'buddies');
      const env: NodeJS.ProcessEnv = {
        KAFKA_BROKERS: config.kafka.brokers.join(','), SCHEMA_REGISTRY_URL: config.registry.url, BUDDIES_TOPIC_PREFIX: prefix,
        BUDDIES_MODELS_DIR: modelsDir, BUDDIES_STACK_DIR: config.stackDir, BUDDIES_CLIENT_ID: config.clientId, BUDDIES_METRICS_PORT: '0',
      };
      const profile = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
      const since = Date.now();
      const child = spawn(process.execPath, [
        ...profile, launcher, 'process', 'recommender', '--group-prefix', groups, '--strategy', 'buddies', '--refresh-every', '1', '--from', 'latest',
      ], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const childLog = new ChildLog(/kafkajs (WARN|ERROR)|abort|retry|rebuil|dead-letter|stopped for good/i, recWarnings);
      const instance: Recommender = { child, appId, metricsPort: 0, since };
      recommenders.push(instance);
      current = instance;
      let started = false;
      instance.metricsPort = await within(Promise.race([abortPromise(opts.signal), new Promise<number>((resolve, reject) => {
        child.stderr!.on('data', (b: Buffer) => {
          for (const line of childLog.push(b)) {
            const m = /recommender running; metrics and health on http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
            if (m) {
              started = true;
              resolve(Number(m[1]));
            }
          }
        });
        child.once('close', (code, signal) => {
          const f = new ChildFailure('the recommender', signal ?? `code ${code}`, childLog);
          if (started && !stopped.has(child)) {
            instance.failure = f;
            log(`the recommender (pid ${child.pid}) stopped: ${f.reason}`);
            onChange?.();
          }
          reject(f);
        });
      })]), 300_000, 'the recommender to start').catch(async (err: unknown) => {
        await stop(child);
        throw err;
      });
      // Started at the latest offsets, the group skips whatever was produced before it resolved its positions, and a
      // skipped listen would shift the user/order match. So: probe listens of users of the benchmark's own (one per
      // partition; their lists are ignored), sent until the group has committed an offset on every partition.
      const probes: string[] = [];
      for (let i = 0; probes.length < partitions; i++) {
        const key = `${PROBE_PREFIX}${i}`;
        if (partitionOf(key, partitions) === probes.length) probes.push(key);
      }
      const admin = kafka.admin();
      await admin.connect();
      try {
        const deadline = performance.now() + 120_000;
        for (;;) {
          check();
          if (instance.failure) throw instance.failure;
          if (performance.now() > deadline) throw new Error('the recommender did not consume its first listens within 2 minutes');
          const [offsets] = await admin.fetchOffsets({ groupId: appId, topics: [recListens] });
          const missing = probes.filter((_, p) => BigInt(offsets?.partitions.find((x) => x.partition === p)?.offset ?? '-1') < 0n);
          if (missing.length === 0) break;
          await recProducer!.send('listens', missing.map((user) => ({ key: user, value: {
            eventId: `${id}-probe-${seq++}`, userId: user, trackId: 'probe', playlistId: null, source: 'LIBRARY', msPlayed: 180_000, trackDurationMs: 200_000,
            eventTime: Date.now(), recommendationId: null,
          } })));
          await delay(500); // polling the group's committed offsets (an effect in another process), not a sleep as synchronisation
        }
      } finally {
        await admin.disconnect();
      }
      log(`recommender ${n + 1} running (pid ${child.pid}, group ${appId}, metrics on port ${instance.metricsPort}); consuming every partition after ${((Date.now() - since) / 1000).toFixed(1)} s`);
      return instance;
    };
    t = performance.now();
    await startRecommender();
    const recommenderStartSeconds = (performance.now() - t) / 1000;

    // --- the reference: a raw kafkajs pass-through in a process of its own ---
    if (withReference) {
      const here = fileURLToPath(import.meta.url);
      const module = join(here, '..', `latency-passthrough${extname(here)}`);
      const args: PassThroughArgs = { brokers: config.kafka.brokers, clientId: `${config.clientId}-bench-latency-ref`, input: refListens, output: refOut, groupId: refGroup, concurrency: 3 };
      const c = fork(module, [JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      refChild = c;
      c.stderr!.on('data', (b: Buffer) => refLog.push(b));
      let ready = false;
      await within(Promise.race([abortPromise(opts.signal), new Promise<void>((resolve, reject) => {
        c.on('message', (m: PassThroughMessage) => {
          if (m.type === 'ready') {
            ready = true;
            resolve();
          }
          if (m.type === 'failed') reject(new Error(`the reference pass-through failed: ${m.error}`));
        });
        c.once('close', (code, signal) => {
          const f = new ChildFailure('the reference pass-through', signal ?? `code ${code}`, refLog);
          if (ready && !stopped.has(c)) {
            refFailure = f;
            log(`the reference pass-through stopped: ${f.reason}`);
            onChange?.();
          }
          reject(f);
        });
      })]), 120_000, 'the reference pass-through to join its group');
      log(`reference pass-through running (pid ${c.pid})`);
    }
    refProducer = createTypedProducer({ kafka, serde: ref.serde });
    await refProducer.connect();

    // --- the load ---
    const listen = (user: { id: string; communities: number[] }): ListenEvent => {
      const c = user.communities[Math.floor(Math.random() * user.communities.length)] ?? 0;
      const pool = tracks[c] ?? tracks.find((x) => x && x.length > 0) ?? [];
      const trackId = pool[Math.floor(Math.random() ** 2 * pool.length)] ?? 'unknown';
      const skipped = Math.random() < 0.1;
      return {
        eventId: `${id}-${seq++}`, userId: user.id, trackId, playlistId: null, source: 'LIBRARY', msPlayed: skipped ? 8000 : 180_000, trackDurationMs: 200_000,
        eventTime: Date.now(), recommendationId: null,
      };
    };
    const emit = async (system: LatencySystem, n: number, phase: number) => {
      const records: ListenEvent[] = [];
      for (let i = 0; i < n; i++) records.push(listen(users[Math.floor(Math.random() * users.length)]!));
      // handed to the producer; queued before the send, since a list may be fetched before the send resolves
      const t0 = nowMs();
      outstanding[system] += n;
      phases[phase]!.sent += n;
      if (system === 'recommender') {
        for (const r of records) {
          const q = recQueues.get(r.userId);
          if (q) q.push({ t: t0, phase });
          else recQueues.set(r.userId, [{ t: t0, phase }]);
        }
        await recProducer!.send('listens', records.map((v) => ({ key: v.userId, value: v })));
      } else {
        for (const r of records) refPending.set(r.eventId, { t: t0, phase });
        await refProducer!.send('listens', records.map((v) => ({ key: v.userId, value: v, headers: { [BENCH_ID_HEADER]: v.eventId } })));
      }
    };

    /** Sends at `rate` for `seconds` (or until the system stops), one send every TICK_MS at most. */
    const pace = async (system: LatencySystem, rate: number, seconds: number, phase: number, label: string) => {
      const start = nowMs();
      const end = start + seconds * 1000;
      let sent = 0;
      let sends = 0;
      let maxSlip = 0;
      let lastProgress = start;
      for (;;) {
        check();
        if (failureOf(system)) break; // the phase reports it
        const t0 = nowMs();
        if (t0 >= end) break;
        const due = Math.floor(((t0 - start) / 1000) * rate) - sent;
        if (due > 0) {
          maxSlip = Math.max(maxSlip, t0 - (start + ((sent + 1) * 1000) / rate));
          await emit(system, due, phase);
          sent += due;
          sends++;
        }
        if (t0 - lastProgress >= 5000) {
          lastProgress = t0;
          const s = phases[phase]!;
          log(`${label}: ${((t0 - start) / 1000).toFixed(0)} s, sent ${s.sent}, lists ${s.received}, outstanding ${outstanding[system]}`);
        }
        const wait = TICK_MS - (nowMs() - t0);
        if (wait > 0) await delay(wait); // pacing by time
      }
      return { maxSlipMs: maxSlip, recordsPerSend: sends ? sent / sends : 0, seconds: (nowMs() - start) / 1000 };
    };

    /** Resolves true once `system` has no listen without its list, false after `limitMs` or when it stopped. */
    const drained = (system: LatencySystem, limitMs: number): Promise<boolean> => {
      if (outstanding[system] === 0) return Promise.resolve(true);
      if (failureOf(system)) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const finish = (ok: boolean) => {
          clearTimeout(timer);
          onChange = undefined;
          opts.signal?.removeEventListener('abort', abort);
          resolve(ok);
        };
        const abort = () => finish(false);
        const timer = setTimeout(() => finish(false), limitMs);
        opts.signal?.addEventListener('abort', abort);
        onChange = () => {
          if (outstanding[system] === 0) finish(true);
          else if (failureOf(system)) finish(false);
        };
      });
    };

    const kafkaPid = readPidFile(join(config.stackDir, 'run', 'kafka.pid'))?.pid;
    const refStats = async (): Promise<PassThroughStats | null> => {
      const c = refChild;
      if (!c || !c.connected) return null;
      return new Promise<PassThroughStats | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 5000);
        const on = (m: PassThroughMessage) => {
          if (m.type !== 'stats') return;
          clearTimeout(timer);
          c.off('message', on);
          resolve(m.stats);
        };
        c.on('message', on);
        c.send({ type: 'stats' });
      });
    };
    const snapshot = async (system: LatencySystem) => {
      const cpu = process.cpuUsage();
      let batches: { count: number; seconds: number; records: number } | null = null;
      let steps: PassThroughStats | null = null;
      if (system === 'recommender' && current) {
        const text = await fetch(`http://127.0.0.1:${current.metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
        const app = `application="${current.appId}"`;
        if (text) {
          batches = {
            count: metricSum(text, 'buddies_streams_batch_seconds_count', app), seconds: metricSum(text, 'buddies_streams_batch_seconds_sum', app),
            records: metricSum(text, 'buddies_streams_records_processed_total', app),
          };
        }
      } else if (system === 'reference') {
        steps = await refStats();
        if (steps) batches = { count: steps.batches, seconds: steps.batchSeconds, records: steps.records };
      }
      return {
        at: nowMs(), bench: (cpu.user + cpu.system) / 1e6, system: procCpuSeconds((system === 'recommender' ? current?.child : refChild)?.pid),
        broker: procCpuSeconds(kafkaPid), machine: machineJiffies(), batches, steps,
      };
    };

    const runPhase = async (system: LatencySystem, rate: number): Promise<LatencyPhase> => {
      const label = `${system} @ ${rate}/s`;
      const began = nowMs();
      const crashedRow = (inWarmup: boolean, sent: number, s?: PhaseCounters): LatencyPhase => ({
        system, rate, crashed: { reason: failureOf(system)!.reason, afterSeconds: (nowMs() - began) / 1000, inWarmup }, seconds: 0, sent, sentPerSec: 0,
        lists: s?.received ?? 0, achievedPerSec: 0, latency: s ? percentiles(s.latencies, s.sent - s.received) : NO_PERCENTILES, toStamp: NO_PERCENTILES,
        stampToVisible: NO_PERCENTILES, lagAtEnd: null, inFlightAtEnd: s ? s.sent - s.received : 0, drainSeconds: null, outOfOrder: s?.outOfOrder ?? 0,
        cpu: { bench: 0, system: 0, broker: null, machine: 0 }, batches: null, steps: null, producer: { maxSlipMs: 0, recordsPerSend: 0 },
      });
      if (opts.warmupSeconds > 0) {
        phases.push({ sent: 0, received: 0, latencies: [], toStamp: [], stampToVisible: [], outOfOrder: 0 });
        log(`${label}: warming up for ${opts.warmupSeconds} s`);
        await pace(system, rate, opts.warmupSeconds, phases.length - 1, `${label} warm-up`);
        if (failureOf(system)) return crashedRow(true, 0);
      }
      const phase = phases.length;
      const s: PhaseCounters = { sent: 0, received: 0, latencies: [], toStamp: [], stampToVisible: [], outOfOrder: 0 };
      phases.push(s);
      log(`${label}: measuring for ${opts.seconds} s`);
      const before = await snapshot(system);
      window = { system, from: nowMs(), to: Infinity, received: 0 };
      const paced = await pace(system, rate, opts.seconds, phase, label);
      window.to = nowMs();
      const achieved = window.received / ((window.to - window.from) / 1000);
      if (failureOf(system)) return crashedRow(false, s.sent, s);
      const after = await snapshot(system);
      const inFlightAtEnd = s.sent - s.received;
      const lagAtEnd = Number(await groupLag(kafka, system === 'recommender' ? current!.appId : refGroup, system === 'recommender' ? recListens : refListens));
      const drainStart = nowMs();
      const ok = await drained(system, opts.drainSeconds * 1000);
      check();
      if (failureOf(system)) return crashedRow(false, s.sent, s);
      const drainSeconds = ok ? (nowMs() - drainStart) / 1000 : null;
      const wall = (after.at - before.at) / 1000;
      const cores = (a: number | null, b: number | null) => (a === null || b === null ? null : (b - a) / wall);
      const machine = before.machine && after.machine ? ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) * availableParallelism() : 0;
      const nb = before.batches && after.batches ? after.batches.count - before.batches.count : 0;
      const batches = nb > 0 && before.batches && after.batches
        ? { count: nb, meanMs: ((after.batches.seconds - before.batches.seconds) / nb) * 1000, recordsPerBatch: (after.batches.records - before.batches.records) / nb }
        : null;
      const steps = nb > 0 && before.steps && after.steps
        ? {
          sendMs: ((after.steps.sendSeconds - before.steps.sendSeconds) / nb) * 1000, offsetsMs: ((after.steps.offsetsSeconds - before.steps.offsetsSeconds) / nb) * 1000,
          commitMs: ((after.steps.commitSeconds - before.steps.commitSeconds) / nb) * 1000, slowSends: after.steps.slowSends - before.steps.slowSends,
        }
        : null;
      const row: LatencyPhase = {
        system, rate, seconds: paced.seconds, sent: s.sent, sentPerSec: s.sent / paced.seconds, lists: s.received, achievedPerSec: achieved,
        latency: percentiles(s.latencies, s.sent - s.received), toStamp: percentiles(s.toStamp, 0), stampToVisible: percentiles(s.stampToVisible, 0),
        lagAtEnd, inFlightAtEnd, drainSeconds, outOfOrder: s.outOfOrder,
        cpu: { bench: cores(before.bench, after.bench) ?? 0, system: cores(before.system, after.system) ?? 0, broker: cores(before.broker, after.broker), machine },
        batches, steps, producer: { maxSlipMs: paced.maxSlipMs, recordsPerSend: paced.recordsPerSend },
      };
      s.latencies = [];
      s.toStamp = [];
      s.stampToVisible = [];
      return row;
    };

    const result: LatencyPhase[] = [];
    let refSaturatedAt: number | undefined;
    for (const rate of rates) {
      for (const system of withReference ? (['recommender', 'reference'] as const) : (['recommender'] as const)) {
        if (system === 'recommender' && (!current || current.failure || stopped.has(current.child))) {
          // a fresh recommender for this rate; what the last one left unanswered is not waited for, and lists it
          // still committed are ignored (stamped before the new one started)
          current = undefined;
          recQueues.clear();
          outstanding.recommender = 0;
          log(`starting a fresh recommender for ${rate}/s`);
          await startRecommender();
        }
        if (system === 'reference' && (refSaturatedAt !== undefined || refFailure)) {
          const why = refFailure ? `the pass-through had stopped (${refFailure.reason})` : `saturated at ${refSaturatedAt}/s`;
          result.push({
            system, rate, skipped: why, seconds: 0, sent: 0, sentPerSec: 0, lists: 0, achievedPerSec: 0, latency: NO_PERCENTILES, toStamp: NO_PERCENTILES,
            stampToVisible: NO_PERCENTILES, lagAtEnd: null, inFlightAtEnd: 0, drainSeconds: null, outOfOrder: 0, cpu: { bench: 0, system: 0, broker: null, machine: 0 },
            batches: null, steps: null, producer: { maxSlipMs: 0, recordsPerSend: 0 },
          });
          continue;
        }
        const row = await runPhase(system, rate);
        result.push(row);
        const label = `${system} @ ${rate}/s`;
        if (row.crashed) {
          log(`${label}: stopped ${row.crashed.inWarmup ? 'during the warm-up' : 'during the measurement'} after ${row.crashed.afterSeconds.toFixed(1)} s: ${row.crashed.reason}`);
        } else {
          log(`${label}: sent ${row.sent} (${Math.round(row.sentPerSec)}/s), lists ${row.lists}, achieved ${Math.round(row.achievedPerSec)}/s, p50 ${fmtMs(row.latency.p50)} p99 ${fmtMs(row.latency.p99)} max ${fmtMs(row.latency.max)}, lag at end ${row.lagAtEnd}, ${row.drainSeconds !== null ? `drained in ${row.drainSeconds.toFixed(1)} s` : `not drained within ${opts.drainSeconds} s: saturated`}`);
        }
        if (row.drainSeconds === null) {
          // a backlog (or a dead process) would compete with the next phases for the machine: stop it
          if (system === 'recommender') await stop(current?.child, 10_000);
          else {
            refSaturatedAt ??= rate;
            await stop(refChild, 10_000);
          }
        }
      }
    }

    // what the recommenders wrote, from the local broker's log folders
    let written: LatencyBenchResult['written'] = null;
    const dataDir = join(config.stackDir, 'kafka', 'data');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const records = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
      let changelogRecords = 0;
      let changelogBytes: number | null = 0;
      for (const r of recommenders) {
        const topic = changelogTopic(prefix, r.appId, USERS_STORE.name);
        changelogRecords += await records(topic).catch(() => 0);
        const b = topicBytes(dataDir, topic);
        changelogBytes = b === null || changelogBytes === null ? null : changelogBytes + b;
      }
      const listBytes = topicBytes(dataDir, recLists);
      if (changelogBytes !== null && listBytes !== null) written = { changelogRecords, changelogBytes, lists: await records(recLists), listBytes };
    } finally {
      await admin.disconnect();
    }

    return {
      startedAt, codeVersion: await codeVersion(config.rootDir),
      machine: { cores: availableParallelism(), memoryGiB: totalmem() / 2 ** 30, node: process.version },
      world: { users: opts.users, playlists: opts.playlists, seed: opts.seed, importedEvents: imported.events },
      setupSeconds: { generate: generateSeconds, import: importSeconds, embeddings: embeddingsSeconds, recommenderStart: recommenderStartSeconds },
      seconds: opts.seconds, warmupSeconds: opts.warmupSeconds, drainLimitSeconds: opts.drainSeconds, phases: result, recommenders: recommenders.length, stray,
      written, recommenderWarnings: recWarnings,
    };
  } finally {
    log('cleaning up: stopping the consumers, the producers and the child processes, deleting the topics');
    await lists?.disconnect().catch(() => {});
    await recProducer?.disconnect().catch(() => {});
    await refProducer?.disconnect().catch(() => {});
    await Promise.all([...recommenders.map((r) => stop(r.child)), stop(refChild)]);
    await deleteEverything(kafka, prefix, groupPrefix).catch((err: unknown) => log(`could not delete every topic of ${prefix}: ${errorMessage(err)}`));
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Milliseconds for a table: whole ms from 10 up, one decimal below; ∞ for lists that never came. */
export function fmtMs(v: number): string {
  if (Number.isNaN(v)) return '–';
  if (v === Infinity) return '∞';
  return v >= 10 ? String(Math.round(v)) : v.toFixed(1);
}

const NAMES: Record<LatencySystem, string> = { recommender: 'recommender (buddies, a list per listen)', reference: 'kafkajs EOS pass-through (reference)' };

/** The result as a Markdown table (one row per rate and system). */
export function latencyTable(r: LatencyBenchResult): string {
  const rows = r.phases.map((p) => {
    const name = NAMES[p.system];
    if (p.skipped) return `| ${name} | ${p.rate} | – | – | – | – | – | – | – | – | – | not run: ${p.skipped} |`;
    if (p.crashed) {
      const when = `${p.crashed.inWarmup ? 'in the warm-up' : 'in the measured window'}, ${p.crashed.afterSeconds.toFixed(0)} s after the load began`;
      const got = p.crashed.inWarmup ? '–' : String(p.lists);
      return `| ${name} | ${p.rate} | ${p.crashed.inWarmup ? '–' : p.sent} | – | ${got} | – | ${fmtMs(p.latency.p50)} | ${fmtMs(p.latency.p95)} | ${fmtMs(p.latency.p99)} | ${fmtMs(p.latency.max)} | – | **stopped** ${when}: ${p.crashed.reason} |`;
    }
    const drain = p.drainSeconds === null ? `**saturated**: not drained in ${r.drainLimitSeconds} s` : `${p.drainSeconds.toFixed(1)} s`;
    return `| ${name} | ${p.rate} | ${p.sent} | ${Math.round(p.sentPerSec)} | ${p.lists} | ${Math.round(p.achievedPerSec)} | ${fmtMs(p.latency.p50)} | ${fmtMs(p.latency.p95)} | ${fmtMs(p.latency.p99)} | ${fmtMs(p.latency.max)} | ${p.lagAtEnd ?? '–'} | ${drain} |`;
  });
  return [
    '| system | offered/s | sent | sent/s | lists | achieved/s | p50 ms | p95 ms | p99 ms | max ms | lag at end | drain |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

/** Where the time goes: the split at the list's Kafka timestamp, batches, transaction steps, CPU per process. */
export function latencyDetailTable(r: LatencyBenchResult): string {
  const rows = r.phases.filter((p) => !p.skipped && !p.crashed).map((p) => {
    const b = p.batches ? `${p.batches.count} / ${p.batches.meanMs.toFixed(1)} / ${p.batches.recordsPerBatch.toFixed(1)}` : '–';
    const steps = p.steps ? `${p.steps.sendMs.toFixed(1)} / ${p.steps.offsetsMs.toFixed(1)} / ${p.steps.commitMs.toFixed(1)} (${p.steps.slowSends} slow)` : '–';
    const broker = p.cpu.broker === null ? '–' : p.cpu.broker.toFixed(2);
    const others = Math.max(0, p.cpu.machine - p.cpu.bench - p.cpu.system - (p.cpu.broker ?? 0));
    return `| ${p.system} | ${p.rate} | ${fmtMs(p.toStamp.p50)} / ${fmtMs(p.toStamp.p99)} | ${fmtMs(p.stampToVisible.p50)} / ${fmtMs(p.stampToVisible.p99)} | ${b} | ${steps} | ${p.cpu.system.toFixed(2)} | ${p.cpu.bench.toFixed(2)} | ${broker} | ${p.cpu.machine.toFixed(2)} (${others.toFixed(2)}) | ${p.producer.maxSlipMs.toFixed(0)} |`;
  });
  return [
    '| system | offered/s | produced → stamped p50 / p99 ms | stamped → visible p50 / p99 ms | batches / mean ms / records per batch | send / offsets / commit ms per batch | system cores | bench cores | broker cores | machine cores busy (all other processes) | producer max slip ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
