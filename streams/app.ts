import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer, TopicMessages, Transaction } from 'kafkajs';
import { coPartitionedAssigner } from './assigner.js';
import { errorMessage, TransientError } from './errors.js';
import { createIdempotentProducer } from './producer.js';
import { installReadCommittedFilter } from './read-committed.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { AvroSerde } from './serde.js';
import { chunkTopicMessages, MAX_REQUEST_BYTES } from './producer.js';
import { createGlobalTable, type GlobalTable } from './global-table.js';
import { restoreStore } from './snapshot.js';
import {
  createTaskRuntime, OFFSETS_STORE, PartitionGroup, type InputQueue, type Outputs, type StreamsAppStats, type StreamsObserver, type Task,
} from './task.js';
import type { Guarantee, Topology } from './topology.js';
import type { AvroTopicKey } from './topics.js';

export type { StreamsAppStats } from './task.js';

// kafkajs's own read_committed filter lets through records of overlapping aborted transactions (transactional inputs)
installReadCommittedFilter();

export interface StreamsAppOptions<I extends AvroTopicKey> {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly topology: Topology<I>;
  /** Outputs are sent every this many records inside the batch's transaction, with a heartbeat (default 200). */
  readonly flushEvery?: number;
  /**
   * Retries of a record that failed with a retriable error (the registry unreachable, say) before its batch
   * aborts. Default: for as long as it lasts, backing off to 10 s, with heartbeats, so an outage is waited out.
   */
  readonly retry?: RetryOptions;
  readonly sessionTimeoutMs?: number;
  /**
   * Two inputs or more: how long (ms) a task waits for an input that has nothing fetched while the broker still
   * has records of it (not caught up to its high watermark), before it processes the other inputs anyway, as Kafka
   * Streams' max.task.idle.ms. Records are processed in timestamp order across the inputs; a record of an input
   * that was waited out may come after later ones. Default 1000; 0: never wait (what was fetched still goes in
   * timestamp order).
   */
  readonly maxTaskIdleMs?: number;
  /** Tasks (partitions) processed at once; each has its own producer and transaction (default 3). */
  readonly tasksConcurrently?: number;
  /** Replication factor of the changelog topics it creates (default 1). */
  readonly replicationFactor?: number;
  readonly log?: (line: string) => void;
  /** Metric hooks (see `createStreamsMetrics`). */
  readonly observer?: StreamsObserver;
  /**
   * The app cannot go on (its consumer crashed, a task could not be rebuilt): called once, after the app has
   * stopped. The entry point exits non-zero so that its supervisor restarts it; default: throws nothing, logs.
   */
  readonly onFatal?: (err: unknown) => void;
}

export type StreamsAppState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** A running application: start, stop, and what liveness and readiness probes ask. */
export interface StreamsApp {
  readonly state: StreamsAppState;
  readonly stats: Readonly<StreamsAppStats>;
  /** Partitions whose tasks are live (restored and processing). */
  tasks(): number[];
  /** Sizes of every store of every live task: `${store}[${partition}]` → entries. */
  storeSizes(): Map<string, number>;
  /** Records of each assigned input partition not yet committed by the application. */
  lag(): Promise<Array<{ readonly topic: string; readonly partition: number; readonly lag: number }>>;
  /** Live: starting, restoring or consuming (not failed or stopped). */
  live(): boolean;
  /** Ready: running with every assigned task restored. */
  ready(): boolean;
  /** Creates missing changelog topics, joins the group, and resolves once consuming. */
  start(): Promise<void>;
  /** Finishes the batches in flight, commits, closes the tasks and leaves the group. Idempotent. */
  stop(): Promise<void>;
}

/** The broker's CONCURRENT_TRANSACTIONS answer (kafkajs may wrap it in a retries-exceeded error). */
function isConcurrentTransactions(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined; e; e = (e.cause ?? e.originalError) as typeof e) {
    if (e.type === 'CONCURRENT_TRANSACTIONS') return true;
  }
  return false;
}

const nextOffset = (offset: string): string => (BigInt(offset) + 1n).toString();

/**
 * Runs a topology on kafkajs, the way Kafka Streams runs one on the JVM: one consumer group (the application
 * id) over co-partitioned inputs with a partition assigner that keeps partition p of every input together;
 * one task per partition with its own transactional producer (`<applicationId>-<p>`, Kafka Streams' scheme
 * before KIP-447, which kafkajs lacks), so that a partition's new owner fences the old one; state stores
 * restored from compacted changelog topics on assignment, their writes committed with the outputs and the
 * input offsets in one transaction and applied only after it commits.
 *
 * Failures: a task whose transaction fails (fenced, or the producer left unusable) is closed and rebuilt on
 * the next batch: fence, restore, re-read the committed offsets. If the consumer crashes or a rebuild keeps
 * failing, the app stops and calls `onFatal`, never staying up consuming nothing.
 */
export function createStreamsApp<I extends AvroTopicKey>(opts: StreamsAppOptions<I>): StreamsApp {
  const { kafka, serde, topology } = opts;
  const appId = topology.applicationId;
  const guarantee: Guarantee = topology.guarantee ?? 'exactly-once';
  const flushEvery = opts.flushEvery ?? 200;
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(flushEvery) || flushEvery < 1) throw new RangeError('flushEvery must be a positive integer');
  const maxTaskIdleMs = opts.maxTaskIdleMs ?? 1000;
  if (!(maxTaskIdleMs >= 0 && maxTaskIdleMs <= 2 ** 31 - 1)) throw new RangeError('maxTaskIdleMs must be between 0 and 2147483647');
  // one input: each batch is processed whole, as fetched; two or more: records meet in the task's PartitionGroup
  const merged = topology.inputs.length > 1;
  const globals = new Map<string, GlobalTable<unknown>>();
  const rt = createTaskRuntime({ serde, topology, log, globals, ...(opts.observer ? { observer: opts.observer } : {}), retry: opts.retry ?? { retries: Number.MAX_SAFE_INTEGER, initialMs: 200, maxMs: 10_000 } });
  const { stats, changelogs } = rt;
  const inputOf = new Map(topology.inputs.map((k) => [serde.topics.name(k), k] as const));
  let state: StreamsAppState = 'created';
  const tasks = new Map<number, Promise<Task<I>>>();
  /** at-least-once: per `topic:partition`, the offset this instance last committed (the next to process). */
  const committedNext = new Map<string, bigint>();
  const live = new Map<number, Task<I>>();
  let admin: Admin | undefined;
  let assigned = new Set<number>();
  // at-least-once: one idempotent producer for every task
  const sharedProducer = guarantee === 'at-least-once' ? createIdempotentProducer(kafka) : undefined;
  const consumer: Consumer = kafka.consumer({
    groupId: appId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    partitionAssigners: [coPartitionedAssigner],
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => false },
  });

  async function fetchCommitted(partition: number): Promise<Map<string, bigint>> {
    const res = await withRetry(() => admin!.fetchOffsets({ groupId: appId, topics: [...inputOf.keys()] }));
    const out = new Map<string, bigint>();
    for (const t of res) {
      const p = t.partitions.find((x) => x.partition === partition);
      if (p && BigInt(p.offset) >= 0n) out.set(t.topic, BigInt(p.offset));
    }
    return out;
  }

  const ends = new Map<string, { at: number; offsets: ReturnType<Admin['fetchTopicOffsets']> }>();
  /** A topic's end offsets, asked once for the tasks built at about the same time (an assignment builds them all). */
  function topicEnds(topic: string): ReturnType<Admin['fetchTopicOffsets']> {
    const hit = ends.get(topic);
    if (hit && performance.now() - hit.at < 1000) return hit.offsets;
    const offsets = withRetry(() => admin!.fetchTopicOffsets(topic));
    ends.set(topic, { at: performance.now(), offsets });
    offsets.catch(() => { if (ends.get(topic)?.offsets === offsets) ends.delete(topic); });
    return offsets;
  }

  /** Builds task p: fence the previous owner, restore the stores, read the committed offsets, init the processor. */
  async function buildTask(partition: number, wanted: () => boolean): Promise<Task<I>> {
    let producer: Producer | undefined;
    if (guarantee === 'exactly-once') {
      producer = createIdempotentProducer(kafka, `${appId}-${partition}`);
      await producer.connect();
      const fence = await producer.transaction(); // InitProducerId: bumps the epoch, aborts the old owner's open transaction
      await fence.abort();
    }
    log(`${appId}: task ${partition} fenced; restoring its stores`);
    const t0 = performance.now();
    const task = rt.newTask(partition, producer, new Map());
    let restored = 0;
    for (const [name, store] of task.stores) restored += await restoreStore(kafka, changelogs.get(name)!, partition, store);
    const seconds = (performance.now() - t0) / 1000;
    stats.restoredRecords += restored;
    stats.restoreSeconds += seconds;
    // read after fencing: the old owner can commit nothing more. The restored offsets store holds its last commit
    // for sure; the group's committed offsets may not show it yet, so the larger of the two wins
    const restoredOffsets = task.stores.get(OFFSETS_STORE.name)!;
    for (const [t, o] of await fetchCommitted(partition)) (task.startOffsets as Map<string, bigint>).set(t, o);
    for (const t of inputOf.keys()) {
      const o = restoredOffsets.get(t) as number | undefined;
      if (o !== undefined && BigInt(o) > (task.startOffsets.get(t) ?? -1n)) (task.startOffsets as Map<string, bigint>).set(t, BigInt(o));
    }
    if (merged) {
      // where each input stands on the broker, so that an input with nothing to fetch is not waited for
      for (const q of task.group.queues) {
        const end = (await topicEnds(q.topic)).find((e) => e.partition === partition);
        if (!end) continue;
        q.highWatermark = Number(end.high);
        if (!task.startOffsets.has(q.topic)) q.fetchedNext = Number((topology.startAt ?? 'earliest') === 'earliest' ? end.low : end.high);
      }
    }
    await task.processor.init?.(rt.contextFor(task, []));
    for (const p of topology.punctuate ?? []) {
      if (p.type !== 'wall-clock') continue;
      const timer = setInterval(() => { void exclusive(task, () => punctuateWallClock(task)).catch((err: unknown) => log(`task ${partition}: punctuation failed: ${errorMessage(err)}`)); }, p.everyMs);
      timer.unref();
      task.timers.push(timer);
    }
    // a build that closeTask gave up on meanwhile (revoked) is closed by it, and must not hide a newer build of p
    if (wanted()) live.set(partition, task);
    if (task.stores.size) log(`${appId}: task ${partition} restored ${restored} changelog records in ${seconds.toFixed(2)} s`);
    return task;
  }

  function taskFor(partition: number): Promise<Task<I>> {
    let t = tasks.get(partition);
    if (!t) {
      const build = buildTask(partition, () => tasks.get(partition) === build);
      tasks.set(partition, build);
      build.catch(() => { if (tasks.get(partition) === build) tasks.delete(partition); }); // not a newer build's entry
      t = build;
    }
    return t;
  }

  function exclusive<T>(task: Task<I>, body: () => Promise<T>): Promise<T> {
    const run = task.queue.then(() => (task.closed ? Promise.reject(new Error(`task ${task.partition} is closed`)) : body()));
    task.queue = run.catch(() => {});
    return run;
  }

  async function closeTask(partition: number, why: string): Promise<void> {
    const pending = tasks.get(partition);
    tasks.delete(partition);
    for (const key of [...committedNext.keys()]) if (key.endsWith(`:${partition}`)) committedNext.delete(key);
    const task = await pending?.catch(() => undefined);
    if (!task || task.closed) return;
    await task.queue;
    task.closed = true;
    if (live.get(partition) === task) live.delete(partition);
    for (const timer of task.timers) clearInterval(timer);
    clearTimeout(task.idleTimer);
    for (const s of task.stores.values()) s.abort();
    await Promise.resolve(task.processor.close?.()).catch((err: unknown) => log(`task ${partition}: close failed: ${errorMessage(err)}`));
    await task.producer?.disconnect().catch(() => {});
    log(`${appId}: task ${partition} closed (${why})`);
  }

  async function punctuateWallClock(task: Task<I>): Promise<void> {
    const outputs: Outputs = [];
    await task.processor.punctuate?.('wall-clock', Date.now(), rt.contextFor(task, outputs));
    const messages = [...(await rt.encodeOutputs(outputs)), ...rt.changelogMessages(task)];
    if (messages.length === 0) return;
    await commitWrites(task, messages, undefined);
  }

  /** Writes outputs and changelogs (and the offsets, when given) atomically, then applies the store writes. */
  async function commitWrites(task: Task<I>, messages: TopicMessages[], offsets: { topic: string; offset: string } | undefined): Promise<void> {
    if (task.producer) {
      const txn = await task.producer.transaction();
      try {
        for (const topicMessages of chunkTopicMessages(messages, MAX_REQUEST_BYTES)) await txn.sendBatch({ topicMessages, acks: -1 });
        if (offsets) {
          // AddOffsetsToTxn answers CONCURRENT_TRANSACTIONS while the coordinator still finishes the previous commit
          await withRetry(
            () => txn.sendOffsets({ consumerGroupId: appId, topics: [{ topic: offsets.topic, partitions: [{ partition: task.partition, offset: nextOffset(offsets.offset) }] }] }),
            { retries: 10, initialMs: 100, maxMs: 2000, retriable: isConcurrentTransactions },
          );
        }
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => {});
        throw err;
      }
    } else {
      for (const topicMessages of chunkTopicMessages(messages, MAX_REQUEST_BYTES)) await sharedProducer!.sendBatch({ topicMessages, acks: -1 });
      if (offsets) await consumer.commitOffsets([{ topic: offsets.topic, partition: task.partition, offset: nextOffset(offsets.offset) }]);
    }
    for (const s of task.stores.values()) s.commit();
  }

  /** Calls the processor's flush; a passing failure (the warehouse down) is waited out: heartbeats go on, nothing more is fetched. */
  async function flushTask(task: Task<I>, outputs: Outputs, ctl: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>): Promise<TopicMessages[]> {
    const dead: TopicMessages[] = [];
    await withRetry(async () => {
      dead.length = 0;
      await task.processor.flush!(rt.contextFor(task, outputs, dead));
    }, {
      retries: Number.MAX_SAFE_INTEGER, initialMs: 200, maxMs: 10_000,
      onRetry: (err, attempt, wait) => {
        stats.retries++;
        log(`task ${task.partition}: flush retry ${attempt} in ${wait} ms: ${errorMessage(err)}`);
        if (!ctl.isRunning() || ctl.isStale()) throw err;
        void ctl.heartbeat().catch(() => {});
      },
    });
    return dead;
  }

  /** The input offsets (per topic, the next offset of the task's partition) into the transaction. */
  async function sendOffsets(txn: Transaction, task: Task<I>, next: ReadonlyMap<string, number>): Promise<void> {
    const topics = [...next].map(([topic, offset]) => ({ topic, partitions: [{ partition: task.partition, offset: String(offset) }] }));
    // AddOffsetsToTxn answers CONCURRENT_TRANSACTIONS while the coordinator still finishes the previous commit
    await withRetry(
      () => txn.sendOffsets({ consumerGroupId: appId, topics }),
      { retries: 10, initialMs: 100, maxMs: 2000, retriable: isConcurrentTransactions },
    );
  }

  /**
   * The batch's transaction (none at least once) and how its messages go out: in requests of bounded size, since a
   * backlog batch's outputs and changelog can pass the broker's 1 MiB limit on a record batch (MESSAGE_TOO_LARGE);
   * the requests are parts of the same transaction.
   */
  async function openBatch(task: Task<I>): Promise<{ txn: Transaction | undefined; send: (messages: TopicMessages[]) => Promise<void> }> {
    const txn = task.producer ? await task.producer.transaction() : undefined;
    const send = async (messages: TopicMessages[]) => {
      for (const topicMessages of chunkTopicMessages(messages, MAX_REQUEST_BYTES)) {
        if (txn) await txn.sendBatch({ topicMessages, acks: -1 });
        else await sharedProducer!.sendBatch({ topicMessages, acks: -1 });
      }
    };
    return { txn, send };
  }

  /**
   * Called before each retry of a record: a retriable failure while stopping or rebalancing ends the batch, which
   * aborts (and its records are fetched again by whoever owns the partition) rather than dead-lettering; else a heartbeat.
   */
  function abandonOnRetry(ctl: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>): () => void {
    return () => {
      if (!ctl.isRunning() || ctl.isStale()) throw new TransientError('batch abandoned: stopping or rebalancing');
      void ctl.heartbeat().catch(() => {});
    };
  }

  /**
   * Processes one record into `unsent` (its outputs or dead letter, then any stream-time punctuation it brings due).
   * Returns a promise only when something had to be awaited, so most records cost no promise.
   */
  function step(task: Task<I>, input: I, message: KafkaMessage, topic: string, onRetry: () => void, outputs: Outputs, unsent: TopicMessages[]): Promise<void> | undefined {
    const handled = rt.handle(task, input, message, topic, onRetry);
    if (!(handled instanceof Promise) && task.nextStreamPunctuation.size === 0) {
      if (handled.length) unsent.push(...handled);
      stats.processed++;
      return undefined;
    }
    return (async () => {
      const messages = await handled;
      if (messages.length) unsent.push(...messages);
      if (task.nextStreamPunctuation.size) {
        await rt.punctuateStreamTime(task, outputs);
        if (outputs.length) unsent.push(...(await rt.encodeOutputs(outputs.splice(0))));
      }
      stats.processed++;
    })();
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const input = inputOf.get(batch.topic);
    if (input === undefined) return;
    if (merged) return eachMergedBatch(payload);
    const task = await taskFor(batch.partition);
    const t0 = performance.now();
    await exclusive(task, async () => {
      // Offsets below what the partition's previous owner committed, or below what this task has committed since (its
      // offsets store: the next offset after its last commit), are done. kafkajs fetches from the group's committed
      // offsets after every rebalance, and those may not show this task's last transaction yet: a task kept through a
      // rebalance would process that batch again on top of the store that already counts it (Number is exact far
      // beyond any offset).
      const done = task.stores.get(OFFSETS_STORE.name)!.get(batch.topic) as number | undefined;
      const start = Math.max(Number(task.startOffsets.get(batch.topic) ?? -1n), done ?? -1);
      let last: string | undefined;
      let unsent: TopicMessages[] = [];
      let count = 0;
      let complete = true;
      const outputs: Outputs = [];
      const { txn, send } = await openBatch(task);
      const onRetry = abandonOnRetry(payload);
      try {
        for (const message of batch.messages) {
          // asking kafkajs whether the batch went stale costs a map lookup with a string key: every 64 records
          if ((count & 63) === 0 && (!isRunning() || isStale())) {
            complete = false;
            break;
          }
          if (start > 0 && Number(message.offset) < start) continue; // committed by the partition's previous owner
          task.streamTime = Math.max(task.streamTime, Number(message.timestamp));
          const stepping = step(task, input, message, batch.topic, onRetry, outputs, unsent);
          if (stepping) await stepping; // most records need no await
          last = message.offset;
          if (++count % flushEvery === 0) {
            await send(unsent);
            unsent = [];
            await heartbeat();
          }
        }
        if (task.processor.flush) unsent.push(...(await flushTask(task, outputs, payload)));
        // a batch done to its end is done through its last offset, control records (commit markers) included:
        // they never reach the loop, and committing only past the last data record would leave a lag of 1
        if (complete && last !== undefined) last = batch.lastOffset();
        if (last !== undefined) task.stores.get(OFFSETS_STORE.name)!.put(batch.topic, Number(last) + 1);
        unsent.push(...(await rt.encodeOutputs(outputs.splice(0))), ...rt.changelogMessages(task));
        await send(unsent);
        if (txn) {
          if (last !== undefined) await sendOffsets(txn, task, new Map([[batch.topic, Number(last) + 1]]));
          await txn.commit();
        } else if (last !== undefined) {
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: nextOffset(last) }]);
          committedNext.set(`${batch.topic}:${batch.partition}`, BigInt(last) + 1n);
        }
        for (const s of task.stores.values()) s.commit();
        if (last !== undefined) resolveOffset(last);
        // a batch entirely below the start is done already: move kafkajs past it, or it would fetch it again and again
        else if (complete && start > 0 && Number(batch.lastOffset()) < start) resolveOffset(batch.lastOffset());
        stats.batches++;
        opts.observer?.batch?.(task.partition, count, (performance.now() - t0) / 1000);
      } catch (err) {
        stats.aborts++;
        for (const s of task.stores.values()) s.abort();
        if (txn) {
          await txn.abort().catch(() => {});
          // the producer may be fenced or unusable: rebuild the task (fence, restore, committed offsets) on the next batch
          stats.taskRebuilds++;
          void closeTask(task.partition, `transaction failed: ${errorMessage(err)}`);
        }
        throw err;
      }
    });
  }

  /*
   * Two inputs or more: timestamp order across a task's inputs, as Kafka Streams' PartitionGroup does it.
   *
   * kafkajs hands over one topic-partition's batch per call, several calls at once (one fetch brings a batch of
   * every partition with data, and its next fetch waits for all of them), so a call never waits for another: it
   * adds its batch's new records to the task's queues and processes, in one transaction, what can be processed in
   * timestamp order (`drain`). An input whose queue is empty while the broker has more of it is waited for (up to
   * maxTaskIdleMs); the rest stays buffered for a later call of either input.
   *
   * Buffered records are not resolved with kafkajs: its fetch position stays at what committed transactions cover,
   * so kafkajs fetches a buffered tail again (its offsets are skipped: they are in the queue), and an aborted
   * transaction needs no seek: the queues are dropped and everything after the committed offsets is fetched again.
   * That also bounds the buffer by one fetch per partition without pause/resume. The price is fetching (not
   * decoding: kafkajs frames records, the processor decodes once) a tail twice, and an input waited for whose
   * partner has buffered records fetching that partner's tail on every round until it arrives or idle time runs out.
   */

  /** The next offset the task has not processed and committed on input `q` (0: all of it is to do). */
  function doneBelow(task: Task<I>, q: InputQueue): number {
    const done = task.stores.get(OFFSETS_STORE.name)!.get(q.topic) as number | undefined;
    return Math.max(Number(task.startOffsets.get(q.topic) ?? -1n), done ?? -1, 0);
  }

  /** The broker has nothing of input `q` past what the task fetched (or committed): it need not be waited for. */
  function caughtUp(task: Task<I>, q: InputQueue): boolean {
    return q.highWatermark >= 0 && Math.max(q.bufferedNext, q.fetchedNext, doneBelow(task, q)) >= q.highWatermark;
  }

  /**
   * The queue to take the next record from, lowest head timestamp first; undefined when there is nothing, or when
   * an empty input is not caught up and the task has waited for it less than maxTaskIdleMs.
   */
  function nextQueue(task: Task<I>): InputQueue | undefined {
    const group = task.group;
    if (group.size === 0) return undefined;
    for (const q of group.queues) {
      if (PartitionGroup.length(q) > 0 || caughtUp(task, q)) continue;
      if (maxTaskIdleMs > 0) {
        const now = Date.now();
        if (task.blockedSince === 0) task.blockedSince = now;
        const left = task.blockedSince + maxTaskIdleMs - now;
        if (left > 0) {
          armIdleTimer(task, left);
          return undefined;
        }
      }
      return group.pick(); // waited long enough: process what is there (Kafka Streams' enforced processing)
    }
    task.blockedSince = 0;
    return group.pick();
  }

  /** No further batch of the task may come (its other input has nothing after all): process anyway after the wait. */
  function armIdleTimer(task: Task<I>, ms: number): void {
    if (task.idleTimer) return;
    task.idleTimer = setTimeout(() => {
      task.idleTimer = undefined;
      void exclusive(task, () => drain(task, undefined)).catch((err: unknown) => log(`task ${task.partition}: processing after the idle time failed: ${errorMessage(err)}`));
    }, ms);
    task.idleTimer.unref();
  }

  async function eachMergedBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const task = await taskFor(batch.partition);
    await exclusive(task, async () => {
      const q = task.group.queues.find((x) => x.topic === batch.topic)!;
      // below the committed offsets (this task's or the previous owner's) is done; below bufferedNext is queued
      const from = Math.max(doneBelow(task, q), q.bufferedNext);
      for (const message of batch.messages) if (Number(message.offset) >= from) task.group.add(q, message);
      q.fetchedNext = Math.max(q.fetchedNext, Number(batch.lastOffset()) + 1);
      q.highWatermark = Number(batch.highWatermark);
      await drain(task, payload);
      // kafkajs fetches from here next: what committed transactions cover, never what is only buffered
      const next = doneBelow(task, q);
      if (next > 0) payload.resolveOffset(String(next - 1));
    });
  }

  /** Processes the task's buffered records in timestamp order while it need not wait, in one transaction. */
  async function drain(task: Task<I>, payload: EachBatchPayload | undefined): Promise<void> {
    let q = nextQueue(task);
    if (!q) return;
    const ctl: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'> = payload ?? {
      heartbeat: async () => {}, isRunning: () => state === 'running', isStale: () => false,
    };
    const t0 = performance.now();
    const group = task.group;
    /** Per input (queue index), the offset after the last record processed: what this transaction commits (-1: none). */
    const consumed = group.queues.map(() => -1);
    let unsent: TopicMessages[] = [];
    let count = 0;
    const outputs: Outputs = [];
    const { txn, send } = await openBatch(task);
    const onRetry = abandonOnRetry(ctl);
    try {
      for (; q; q = nextQueue(task)) {
        if ((count & 63) === 0 && (!ctl.isRunning() || ctl.isStale())) break;
        const timestamp = q.timestamps[q.head]!; // the message's, as a number already
        const message = group.shift(q);
        if (timestamp > task.streamTime) task.streamTime = timestamp;
        const stepping = step(task, topology.inputs[q.index]!, message, q.topic, onRetry, outputs, unsent);
        if (stepping) await stepping; // most records need no await
        consumed[q.index] = Number(message.offset) + 1;
        if (++count % flushEvery === 0) {
          await send(unsent);
          unsent = [];
          await ctl.heartbeat();
        }
      }
      if (task.processor.flush) unsent.push(...(await flushTask(task, outputs, ctl)));
      const next = new Map<string, number>();
      for (const cq of group.queues) {
        const n = consumed[cq.index]!;
        if (n < 0) continue;
        // an input processed to the end of what was fetched is done through it, commit markers included
        next.set(cq.topic, PartitionGroup.length(cq) === 0 ? Math.max(n, cq.fetchedNext) : n);
      }
      for (const [topic, n] of next) task.stores.get(OFFSETS_STORE.name)!.put(topic, n);
      unsent.push(...(await rt.encodeOutputs(outputs.splice(0))), ...rt.changelogMessages(task));
      await send(unsent);
      if (txn) {
        if (next.size) await sendOffsets(txn, task, next);
        await txn.commit();
      } else if (next.size) {
        await consumer.commitOffsets([...next].map(([topic, n]) => ({ topic, partition: task.partition, offset: String(n) })));
        for (const [topic, n] of next) committedNext.set(`${topic}:${task.partition}`, BigInt(n));
      }
      for (const s of task.stores.values()) s.commit();
      stats.batches++;
      opts.observer?.batch?.(task.partition, count, (performance.now() - t0) / 1000);
    } catch (err) {
      stats.aborts++;
      for (const s of task.stores.values()) s.abort();
      // nothing buffered is committed: it is all fetched again from the committed offsets
      group.clear();
      task.blockedSince = 0;
      if (txn) {
        await txn.abort().catch(() => {});
        stats.taskRebuilds++;
        void closeTask(task.partition, `transaction failed: ${errorMessage(err)}`);
      }
      throw err;
    }
  }

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    await consumer.disconnect().catch(() => {}); // waits for the batches in flight, then leaves the group
    await Promise.all([...tasks.keys()].map((p) => closeTask(p, 'stopping')));
    await sharedProducer?.disconnect().catch(() => {});
    await Promise.all([...globals.values()].map((g) => g.stop().catch(() => {})));
    await admin?.disconnect().catch(() => {});
  }

  const fatal = (err: unknown) => {
    if (state === 'failed' || state === 'stopping' || state === 'stopped') return;
    state = 'failed';
    log(`${appId}: cannot go on: ${errorMessage(err)}`);
    void shutdown().finally(() => (opts.onFatal ?? (() => {}))(err));
  };

  return {
    get state() { return state; },
    stats,
    tasks: () => [...live.keys()].sort((a, b) => a - b),
    live: () => state === 'starting' || state === 'running',
    ready: () => state === 'running' && [...assigned].every((p) => live.has(p)),
    async lag() {
      if (!admin || state !== 'running') return [];
      const out: Array<{ topic: string; partition: number; lag: number }> = [];
      const committed = await admin.fetchOffsets({ groupId: appId, topics: [...inputOf.keys()] });
      for (const topic of inputOf.keys()) {
        const ends = await admin.fetchTopicOffsets(topic);
        const at = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        for (const e of ends) {
          if (!assigned.has(e.partition)) continue;
          const from = at.get(e.partition) ?? -1n;
          const start = from < 0n ? BigInt(e.low) : from;
          out.push({ topic, partition: e.partition, lag: Number(BigInt(e.high) > start ? BigInt(e.high) - start : 0n) });
        }
      }
      return out;
    },
    storeSizes() {
      const out = new Map<string, number>();
      for (const [p, task] of live) for (const [name, s] of task.stores) out.set(`${name}[${p}]`, s.size);
      return out;
    },
    async start() {
      if (state !== 'created') return;
      state = 'starting';
      admin = kafka.admin();
      await admin.connect();
      const meta = (await withRetry(() => admin!.fetchTopicMetadata({ topics: [...inputOf.keys()] }))).topics;
      const count = new Map(meta.map((t) => [t.name, t.partitions.length]));
      const partitions = [...inputOf.keys()].map((t) => count.get(t));
      if (new Set(partitions).size !== 1) throw new Error(`inputs of ${appId} are not co-partitioned: ${[...inputOf.keys()].map((t, i) => `${t} has ${partitions[i]}`).join(', ')}`);
      const existing = new Set(await admin.listTopics());
      const missing = [...changelogs.values()].filter((t) => !existing.has(t));
      if (missing.length) {
        // a topic created a moment ago may answer UNKNOWN_TOPIC_OR_PARTITION while its leader settles (retriable);
        // another instance starting at the same time may have created it already (then it is simply there)
        await withRetry(async () => {
          const now = new Set(await admin!.listTopics());
          const still = missing.filter((t) => !now.has(t));
          if (still.length) {
            await admin!.createTopics({
              waitForLeaders: true,
              topics: still.map((topic) => ({
                topic, numPartitions: partitions[0]!, replicationFactor: opts.replicationFactor ?? 1,
                configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '60000' }],
              })),
            });
          }
          await admin!.fetchTopicMetadata({ topics: missing });
        }, { retries: 8, initialMs: 200, maxMs: 3000 });
      }
      await sharedProducer?.connect();
      // global tables are caught up before the first task processes anything
      for (const spec of topology.globals ?? []) {
        const table = createGlobalTable({ kafka, serde, spec, groupPrefix: appId, log, onFatal: fatal });
        globals.set(spec.name, table as GlobalTable<unknown>);
        await table.start();
      }
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const mine = new Set(Object.values(payload.memberAssignment).flat());
        assigned = mine;
        for (const p of [...tasks.keys()]) if (!mine.has(p)) void closeTask(p, 'revoked');
        for (const p of mine) void taskFor(p).catch((err: unknown) => log(`${appId}: task ${p} could not be built: ${errorMessage(err)}`));
        log(`${appId}: assigned partitions ${[...mine].sort((a, b) => a - b).join(', ') || 'none'}`);
      });
      if (guarantee === 'at-least-once') {
        // A fetched batch of only control records (a transaction's commit marker) or aborted records never reaches
        // eachBatch, so without this the group's committed offset would stop one short of the end of a
        // transactional input forever (a lag of 1 that never clears). When everything before such a batch is
        // committed, commit past it, in the task's queue so no batch of the task is in flight.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (payload.batchSize !== 0 || !inputOf.has(payload.topic)) return;
          const pending = tasks.get(payload.partition);
          if (!pending) return;
          const key = `${payload.topic}:${payload.partition}`;
          const next = BigInt(payload.lastOffset) + 1n;
          void pending.then((task) => exclusive(task, async () => {
            const done = committedNext.get(key) ?? task.startOffsets.get(payload.topic) ?? -1n;
            if (done < BigInt(payload.firstOffset) || next <= done) return; // something before it is not committed
            await consumer.commitOffsets([{ topic: payload.topic, partition: payload.partition, offset: String(next) }]);
            committedNext.set(key, next);
          })).catch((err: unknown) => log(`${appId}: could not commit past the control records of ${key}: ${errorMessage(err)}`));
        });
      }
      if (merged) {
        // A fetched batch of only commit markers or aborted records never reaches eachBatch: it still says how far
        // the input is, and a task waiting for that input may go on
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (payload.batchSize !== 0 || !inputOf.has(payload.topic)) return;
          const task = live.get(payload.partition);
          const q = task?.group.queues.find((x) => x.topic === payload.topic);
          if (!task || !q) return;
          q.highWatermark = Number(payload.highWatermark);
          if (Number(payload.firstOffset ?? -1) <= doneBelow(task, q)) q.fetchedNext = Math.max(q.fetchedNext, Number(payload.lastOffset) + 1);
          if (task.group.size > 0) void exclusive(task, () => drain(task, undefined)).catch((err: unknown) => log(`task ${task.partition}: processing failed: ${errorMessage(err)}`));
        });
      }
      const observer = opts.observer;
      if (observer?.fetchStart) consumer.on(consumer.events.FETCH_START, () => observer.fetchStart!());
      if (observer?.fetchEnd) consumer.on(consumer.events.FETCH, () => observer.fetchEnd!());
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (state === 'stopping' || state === 'stopped') return;
        fatal(payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [...inputOf.keys()], fromBeginning: (topology.startAt ?? 'earliest') === 'earliest' });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.tasksConcurrently ?? 3,
        eachBatch,
      });
      state = 'running';
      log(`${appId}: consuming ${[...inputOf.keys()].join(', ')} (${guarantee})`);
    },
    stop() {
      stopping ??= (async () => {
        if (state === 'failed') return;
        state = 'stopping';
        await shutdown();
        state = 'stopped';
        log(`${appId}: stopped after ${stats.processed} records (${stats.deadLettered} dead-lettered, ${stats.aborts} aborted batches)`);
      })();
      return stopping;
    },
  };
}
