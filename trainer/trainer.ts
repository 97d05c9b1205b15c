import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { resolveBprOptions, type BprBackend, type BprOptions } from '../models/bpr/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import { createTypedProducer, withRetry, type AvroSerde, type TypedProducer } from '../streams/index.js';
import type { EvaluateOptions } from './evaluate.js';
import { appendHistory, loadWindowSetState, readHistory, saveWindowSetState } from './files.js';
import { resolveGateOptions, type GateOptions } from './gate.js';
import type { TrainerMetrics } from './metrics.js';
import { pendingRequests, requestRetrain, takeRequests, type RetrainTrigger } from './requests.js';
import { createRun, executeRun, failRun, unfinishedRuns, type RunEnv, type RunOutcome, type RunParams } from './run.js';
import { buildTrainingData, NotEnoughDataError } from './training-set.js';
import { createWindowSet, type WindowSet, type WindowSetStats } from './window-set.js';

export interface TrainerOptions {
  readonly kafka: Kafka;
  /** A serde with the interaction-window and model-announcement schemas; its topic names (prefix) are the trainer's. */
  readonly serde: AvroSerde;
  readonly registry: ModelRegistry;
  /** The trainer's state folder (window-set.json, requests/, runs/, history.jsonl). */
  readonly dir: string;
  /**
   * Prefix of the reader's consumer group. Each process joins a group of its own (`<prefix>-<random>`): where it
   * reads from comes from window-set.json, not from committed offsets, and a fresh group never waits out the
   * session of a member that a crash left behind. (Committed offsets only serve a rejoin within the process.)
   */
  readonly groupPrefix: string;
  /** Sliding set: event-time horizon (ms) and the cap on interactions held. */
  readonly horizonMs: number;
  readonly maxInteractions: number;
  /** A (user, playlist) weight summed over the training windows must be above this to be a positive (default 0). */
  readonly minWeight?: number;
  readonly bpr?: Partial<BprOptions>;
  /** models/bpr's backend choice (default auto). */
  readonly backend?: BprBackend;
  /** A checkpoint every this many epochs (default: about every 5% of the epochs). */
  readonly checkpointEvery?: number;
  /** Time between scheduled runs (ms). */
  readonly intervalMs: number;
  /** How often the request folder is looked at while waiting (default 1000 ms). */
  readonly pollMs?: number;
  /** How often the window set is saved while reading (default 30 s; also before each run and at stop). */
  readonly saveEveryMs?: number;
  readonly gate?: Partial<GateOptions>;
  readonly evaluation?: EvaluateOptions;
  /** Called with each published candidate (the lifecycle's startCanary; default: nothing beyond the log line). */
  readonly onCandidate?: (version: ModelVersion) => void | Promise<void>;
  readonly metrics?: TrainerMetrics;
  readonly log?: (line: string) => void;
  /** Called once when the topic reader stops for good (a non-retriable error): the process should exit for its supervisor. */
  readonly onFatal?: (err: Error) => void;
}

/**
 * `buddies trainer`: follows the interaction-window topic into a sliding training set and refreshes BPR from it
 * on a schedule, on request and on a degradation trigger. Lifecycle: `start` once (restores the set, starts
 * reading), then `runSchedule` (the service) or `resumeUnfinished` + `caughtUp` + `trainNow` (one run),
 * then `stop` (idempotent). Runs never overlap.
 */
export interface Trainer {
  /** Restores the set from window-set.json, then reads the topic from the offsets saved with it (or from the beginning). */
  start(): Promise<void>;
  /** Resolves once the set holds the topic up to the end offsets it had at start. */
  caughtUp(): Promise<void>;
  /** Carries runs a crash left unfinished to their end (resuming from their newest checkpoint), oldest first. */
  resumeUnfinished(): Promise<RunOutcome[]>;
  /** One run now on the set as it is: snapshot, train (warm-started), evaluate, gate, publish. */
  trainNow(trigger: RetrainTrigger, reasons: readonly string[]): Promise<RunOutcome>;
  /** The service loop until `stop`: resumes, catches up, then runs every `intervalMs` and whenever a request arrives. */
  runSchedule(): Promise<void>;
  /** Asks for a run as soon as the current one (if any) ends: the request file of {@link requestRetrain}, and a wake-up. */
  requestRetrain(reason: string, trigger?: RetrainTrigger): Promise<void>;
  stop(): Promise<void>;
  live(): boolean;
  ready(): boolean;
  stats(): WindowSetStats;
}

const HOUR = 3_600_000;

/** Defaults of the trainer's settings (the command's flags take them). */
export const DEFAULT_TRAINER_OPTIONS = { intervalMs: HOUR, horizonMs: 72 * HOUR, maxInteractions: 2_000_000, pollMs: 1000, minWeight: 0, saveEveryMs: 30_000 } as const;
const DEFAULT_POLL_MS = DEFAULT_TRAINER_OPTIONS.pollMs;
const DEFAULT_SAVE_MS = DEFAULT_TRAINER_OPTIONS.saveEveryMs;

export function createTrainer(o: TrainerOptions): Trainer {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bpr = resolveBprOptions(o.bpr);
  const gate = resolveGateOptions(o.gate);
  const checkpointEvery = o.checkpointEvery ?? Math.max(1, Math.floor(bpr.epochs / 20));
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1) throw new RangeError(`checkpointEvery must be a positive integer, got ${checkpointEvery}`);
  if (!(o.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${o.intervalMs}`);
  const params: RunParams = { bpr, backend: o.backend ?? 'auto', checkpointEvery };
  const topic = o.serde.topics.name('interactionWindows');
  const source = `kafka:${topic}`;
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  const metrics = o.metrics;

  let set: WindowSet = createWindowSet({ horizonMs: o.horizonMs, maxInteractions: o.maxInteractions });
  metrics?.setStats(() => set.stats());
  const offsets = new Map<number, string>();
  let dirty = false;
  let consumer: Consumer | undefined;
  let producer: TypedProducer | undefined;
  let failed: Error | undefined;
  let stopped = false;
  let started = false;
  let isCaughtUp = false;
  let markCaughtUp: () => void = () => {};
  const caughtUpPromise = new Promise<void>((resolve) => {
    markCaughtUp = () => {
      if (!isCaughtUp) log(`training set caught up with ${topic}: ${describeStats(set.stats())}`);
      isCaughtUp = true;
      resolve();
    };
  });
  let signalStop: () => void = () => {};
  const stoppedPromise = new Promise<void>((resolve) => { signalStop = resolve; });
  let wake: (() => void) | undefined;
  let saveTimer: NodeJS.Timeout | undefined;
  let busy: Promise<unknown> = Promise.resolve();

  const env: RunEnv = {
    dir: o.dir,
    registry: o.registry,
    gate,
    ...(o.evaluation ? { evaluation: o.evaluation } : {}),
    log,
    async announce(version) {
      if (!producer) {
        const p = createTypedProducer({ kafka: o.kafka, serde: o.serde });
        await p.connect();
        producer = p;
      }
      await o.registry.announce(producer, 'BPR', version);
    },
    onCandidate: async (v) => {
      if (o.onCandidate) await o.onCandidate(v);
      else log(`candidate bpr ${v.version} published (no canary hook wired: promote it with 'buddies models promote ${v.version}')`);
    },
    observer: {
      backend: (name) => metrics?.backend(name),
      epoch: (r, e, total) => metrics?.epoch(e, total, r.samples - r.skipped),
      resumed: (e) => metrics?.resumed(e),
    },
  };

  async function save(): Promise<void> {
    if (!dirty) return;
    dirty = false;
    await saveWindowSetState(o.dir, topic, new Map(offsets), set.toJSON()).catch((err: unknown) => {
      dirty = true;
      log(`could not save the training set to ${o.dir}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Mutual exclusion of runs (the schedule, trainNow and resumes share it). */
  function exclusive<T>(f: () => Promise<T>): Promise<T> {
    const next = busy.then(f, f);
    busy = next.catch(() => undefined);
    return next;
  }

  async function record(outcome: RunOutcome): Promise<RunOutcome> {
    metrics?.outcome(outcome);
    return outcome;
  }

  async function carry(id: string, rec: Parameters<typeof failRun>[1]): Promise<RunOutcome> {
    metrics?.training(true);
    try {
      return await record(await executeRun(env, id).catch((err: unknown) => {
        log(`run ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
        return failRun(env, rec, err);
      }));
    } finally {
      metrics?.training(false);
    }
  }

  const trainer: Trainer = {
    async start() {
      if (started) throw new Error('trainer already started');
      started = true;
      const { state, problem } = await loadWindowSetState(o.dir, topic);
      if (problem) log(`${problem}: reading ${topic} from the beginning`);
      if (state) {
        set = createWindowSet({ horizonMs: o.horizonMs, maxInteractions: o.maxInteractions }, state.set);
        for (const [p, off] of Object.entries(state.offsets)) offsets.set(Number(p), off);
        log(`training set restored from ${o.dir}/window-set.json (${describeStats(set.stats())}); reading ${topic} on from its saved offsets`);
      }
      const admin = o.kafka.admin();
      await admin.connect();
      const ends = await withRetry(() => admin.fetchTopicOffsets(topic), { retries: 8, initialMs: 100, maxMs: 2000 }).finally(() => admin.disconnect());
      // where each partition starts: the saved offset, unless retention deleted past it
      const startAt = new Map<number, bigint>();
      const want = new Map<number, bigint>();
      for (const p of ends) {
        const low = BigInt(p.low);
        const saved = offsets.has(p.partition) ? BigInt(offsets.get(p.partition)!) : low;
        const from = saved < low ? low : saved;
        startAt.set(p.partition, from);
        offsets.set(p.partition, from.toString());
        if (BigInt(p.high) > from) want.set(p.partition, BigInt(p.high) - 1n);
      }
      const reached = new Map<number, bigint>();
      const checkCaughtUp = () => {
        for (const [p, end] of want) if ((reached.get(p) ?? -1n) < end) return;
        markCaughtUp();
      };
      const c = o.kafka.consumer({ groupId: `${o.groupPrefix}-${randomBytes(4).toString('hex')}`, readUncommitted: false, sessionTimeout: 60_000, rebalanceTimeout: 60_000 });
      consumer = c;
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart) {
          failed = payload.error;
          log(`the trainer's reader of ${topic} stopped: ${payload.error.message}`);
          o.onFatal?.(payload.error);
        }
      });
      // progress from END_BATCH_PROCESS: also batches of only control records (transaction markers) count
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = BigInt(payload.lastOffset);
        if (last > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, last);
        if (!isCaughtUp) checkCaughtUp();
      });
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({
        autoCommit: true,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const floor = BigInt(offsets.get(batch.partition) ?? '0');
          let n = 0;
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < floor) continue; // before the seek took effect: the set holds it already
            const userId = m.key?.toString();
            if (m.value === null) {
              if (userId !== undefined) metrics?.forgotten(set.forget(userId));
            } else {
              const w = await o.serde.decode('interactionWindows', m.value).catch((err: unknown) => {
                log(`${topic} partition ${batch.partition} offset ${m.offset}: skipped, not an interaction window (${err instanceof Error ? err.message : String(err)})`);
                return undefined;
              });
              if (w) {
                const ev = set.add(w);
                metrics?.evicted('horizon', ev.horizon);
                metrics?.evicted('cap', ev.cap);
                n++;
              }
            }
            offsets.set(batch.partition, (off + 1n).toString());
            dirty = true;
            resolveOffset(m.offset);
          }
          metrics?.windowsRead(n);
          await heartbeat();
        },
      });
      for (const [partition, from] of startAt) c.seek({ topic, partition, offset: from.toString() });
      if (want.size === 0) markCaughtUp();
      const saveEvery = o.saveEveryMs ?? DEFAULT_SAVE_MS;
      saveTimer = setInterval(() => void save(), saveEvery);
      saveTimer.unref();
      log(`reading ${topic} into the training set (horizon ${o.horizonMs} ms, at most ${o.maxInteractions} interactions)`);
    },
    caughtUp: () => caughtUpPromise,
    resumeUnfinished() {
      return exclusive(async () => {
        const out: RunOutcome[] = [];
        for (const rec of await unfinishedRuns(o.dir)) {
          log(`run ${rec.id} (${rec.trigger}: ${rec.reasons.join('; ')}) was interrupted in its ${rec.phase} phase: carrying it on`);
          out.push(await carry(rec.id, rec));
        }
        return out;
      });
    },
    trainNow(trigger, reasons) {
      return exclusive(async () => {
        for (const r of reasons) log(`retraining (${trigger}): ${r}`);
        await save();
        let data;
        try {
          data = buildTrainingData(set.windows(), { source, ...(o.minWeight === undefined ? {} : { minWeight: o.minWeight }) });
        } catch (err) {
          if (!(err instanceof NotEnoughDataError)) throw err;
          const skipped: RunOutcome = {
            id: null, trigger, reasons, status: 'skipped', reason: err.message, version: null, parent: null, backend: null, finishedAt: new Date().toISOString(),
          };
          log(`run skipped: ${err.message}`);
          await appendHistory(o.dir, skipped);
          return record(skipped);
        }
        const rec = await createRun(env, data, { trigger, reasons, params });
        log(`run ${rec.id}: ${data.users.length} users, ${data.items.length} playlists, ${data.weights.length} positives from ${data.trainWindows} windows `
          + `(${new Date(data.trainFrom).toISOString()} to ${new Date(data.trainTo).toISOString()}); held out: ${data.heldOutWindows} windows from ${new Date(data.heldOutStart).toISOString()}, ${data.heldOut.length} users to evaluate`);
        return carry(rec.id, rec);
      });
    },
    async runSchedule() {
      await trainer.resumeUnfinished();
      await Promise.race([caughtUpPromise, stoppedPromise]);
      const last = (await readHistory<RunOutcome>(o.dir)).at(-1);
      let lastAt = last ? Date.parse(last.finishedAt) : -Infinity;
      while (!stopped) {
        const due = lastAt + o.intervalMs;
        // wait for the interval, a request (file or in-process), or stop
        while (!stopped && Date.now() < due && (await pendingRequests(o.dir)) === 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Math.max(1, Math.min(pollMs, due - Date.now())));
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = undefined;
        }
        if (stopped) break;
        const requests = await takeRequests(o.dir);
        for (const r of requests) metrics?.request(r.trigger);
        const trigger: RetrainTrigger = requests.length === 0 ? 'schedule' : requests.some((r) => r.trigger === 'degradation') ? 'degradation' : requests[0]!.trigger;
        const reasons = requests.length === 0 ? [`every ${o.intervalMs} ms`] : requests.map((r) => r.reason);
        if (requests.length === 0) metrics?.request('schedule');
        await trainer.trainNow(trigger, reasons).catch((err: unknown) => log(`run failed: ${err instanceof Error ? err.message : String(err)}`));
        lastAt = Date.now();
        // with no BPR in production yet (the run was skipped for too little data, refused or failed), try again
        // after 30 polls rather than a whole interval: the live recommender serves no BPR until one passes
        const production = await o.registry.production('BPR').catch(() => undefined);
        if (!production) {
          const retryMs = Math.min(o.intervalMs, 30 * pollMs);
          lastAt -= o.intervalMs - retryMs;
          log(`no BPR in production yet: the next run in ${retryMs} ms`);
        }
      }
    },
    async requestRetrain(reason, trigger = 'request') {
      await requestRetrain(o.dir, reason, trigger);
      wake?.();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      signalStop();
      wake?.();
      if (saveTimer) clearInterval(saveTimer);
      await consumer?.disconnect().catch(() => {});
      await save();
      await producer?.disconnect().catch(() => {});
    },
    live: () => started && !stopped && failed === undefined,
    ready: () => isCaughtUp && !stopped && failed === undefined,
    stats: () => set.stats(),
  };
  return trainer;
}

export function describeStats(s: WindowSetStats): string {
  return `${s.windows} windows, ${s.interactions} interactions, ${s.users} users, ${s.playlists} playlists`;
}
