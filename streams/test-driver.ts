import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { IHeaders, KafkaMessage, TopicMessages } from 'kafkajs';
import { DLQ_HEADERS, headerText } from './dead-letter.js';
import { errorMessage } from './errors.js';
import { createAvroSerde, type AvroSerde } from './serde.js';
import type { GlobalTableSpec } from './global-table.js';
import type { ChangelogRecord, StoreSpec } from './store.js';
import { createTaskRuntime, PartitionGroup, type InputQueue, type Outputs, type StreamsAppStats, type Task } from './task.js';
import type { Topology } from './topology.js';
import { topicNames, type AvroTopicKey, type TopicValues } from './topics.js';

/**
 * A schema registry in memory with the two calls the serde makes (register, getSchema): the real Avro
 * encoding and schema resolution without a registry service, for unit tests of processors.
 */
export function createMemoryRegistry(): SchemaRegistry {
  const bySchema = new Map<string, number>();
  const types = new Map<number, avro.Type>();
  return {
    async register({ schema }: { schema: string }) {
      let id = bySchema.get(schema);
      if (id === undefined) {
        id = bySchema.size + 1;
        bySchema.set(schema, id);
        types.set(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema));
      }
      return { id };
    },
    async getSchema(id: number) {
      const t = types.get(id);
      if (!t) throw Object.assign(new Error(`No content with id/hash 'contentId-${id}' was found.`), { status: 404 });
      return t;
    },
  } as unknown as SchemaRegistry;
}

/** The real Avro serde over {@link createMemoryRegistry}. */
export function createLocalSerde(schemasDir: string, prefix = ''): Promise<AvroSerde> {
  return createAvroSerde({ registry: createMemoryRegistry(), topics: topicNames(prefix), schemasDir });
}

export interface TestDriverOptions {
  readonly serde: AvroSerde;
  /** Partitions of the inputs (default 1); a key goes to `hash(key) % partitions` unless a partition is given. */
  readonly partitions?: number;
  readonly log?: (line: string) => void;
  /**
   * Two inputs or more: as the app's `maxTaskIdleMs`, with the driver's wall clock. With 0 (default) a piped record
   * is processed at once. Above 0, a task processes its piped records in timestamp order across its inputs while
   * every input has one buffered: a record waits while another input of its task has none (the driver cannot know
   * whether more is coming, as the app asks the broker), until `advanceWallClock` moves past the idle time.
   */
  readonly maxTaskIdleMs?: number;
}

export interface PipeOptions {
  readonly timestamp?: number;
  readonly partition?: number;
  readonly headers?: IHeaders;
}

export interface DeadLetter {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly reason: string;
  readonly code: string;
}

/**
 * Kafka Streams' TopologyTestDriver for Buddies: runs a topology's tasks in memory with the real Avro serde
 * and the real stores and task runtime. Each processed record is one batch that commits (outputs, dead letters,
 * changelog) or, after {@link TopologyTestDriver.failNextCommit}, aborts and leaves no trace. Records go through
 * the task's PartitionGroup as in the app: in timestamp order across inputs, equal timestamps in input order,
 * waiting for an input only with `maxTaskIdleMs` above 0.
 */
export interface TopologyTestDriver<I extends AvroTopicKey> {
  readonly stats: Readonly<StreamsAppStats>;
  pipe<K extends I>(input: K, key: string, value: TopicValues[K], opts?: PipeOptions): Promise<void>;
  /** A record on a global table's topic (null: a tombstone), applied at once. */
  pipeGlobal<K extends AvroTopicKey>(spec: GlobalTableSpec<K>, key: string, value: TopicValues[K] | null): Promise<void>;
  /** Raw bytes on an input, e.g. a record no reader can decode. */
  pipeBytes(input: I, key: string | null, bytes: Buffer | null, opts?: PipeOptions): Promise<void>;
  /** Keys of the committed tombstones written to `topic`, in order. */
  tombstones(topic: AvroTopicKey): string[];
  /** Committed outputs to `topic`, decoded, in the order written (tombstones left out). */
  outputs<K extends AvroTopicKey>(topic: K): Promise<Array<{ key: string | null; value: TopicValues[K] }>>;
  deadLetters(): DeadLetter[];
  /** A task's committed store contents. */
  store<V>(spec: StoreSpec<V>, partition?: number): Map<string, V>;
  /** Every changelog record committed for a store, in order. */
  changelog(spec: StoreSpec<unknown>): Array<ChangelogRecord & { readonly partition: number }>;
  /** Moves the wall clock on: processes records waiting longer than `maxTaskIdleMs`, then runs the wall-clock punctuations due. */
  advanceWallClock(ms: number): Promise<void>;
  /**
   * The next batch fails at commit: its outputs, dead letters and store writes vanish; the pipe (or
   * advanceWallClock) that processed it rejects with `err`, and that record is dropped (pipe it again to redo it).
   */
  failNextCommit(err?: Error): void;
  /** Closes every task and builds it again from its changelog, as an instance restarting elsewhere would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

function hashKey(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h >>> 0;
}

export function createTopologyTestDriver<I extends AvroTopicKey>(topology: Topology<I>, opts: TestDriverOptions): TopologyTestDriver<I> {
  const { serde } = opts;
  const partitions = opts.partitions ?? 1;
  const log = opts.log ?? (() => {});
  const globals = new Map<string, Map<string, unknown>>((topology.globals ?? []).map((g) => [g.name, new Map()]));
  const tables = new Map([...globals].map(([name, rows]) => [name, { get: (k: string) => rows.get(k), entries: () => rows.entries(), get size() { return rows.size; } }]));
  const rt = createTaskRuntime({ serde, topology, log, retry: { retries: 0 }, globals: tables });
  const written = new Map<string, Array<{ key: string | null; value: Buffer | null; partition: number; headers: IHeaders }>>();
  const offsets = new Map<string, number>();
  const tasks = new Map<number, Task<I>>();
  let wallClock = 0;
  const nextWallClock = new Map<number, number>(); // per punctuate index
  let failure: Error | undefined;
  const maxTaskIdleMs = opts.maxTaskIdleMs ?? 0;
  if (!(maxTaskIdleMs >= 0)) throw new RangeError('maxTaskIdleMs must be >= 0');
  /** Per partition: the piped records not processed yet (they outlive a restart, as records on a broker do). */
  const groups = new Map<number, { group: PartitionGroup; blockedSince: number }>();

  function groupOf(partition: number): { group: PartitionGroup; blockedSince: number } {
    let g = groups.get(partition);
    if (!g) groups.set(partition, g = { group: new PartitionGroup(topology.inputs.map((i) => serde.topics.name(i))), blockedSince: -1 });
    return g;
  }

  /** As the app's: lowest head timestamp first; an empty input is waited for up to maxTaskIdleMs of wall clock. */
  function nextQueue(g: { group: PartitionGroup; blockedSince: number }): InputQueue | undefined {
    if (g.group.size === 0) return undefined;
    if (maxTaskIdleMs > 0 && g.group.queues.some((q) => PartitionGroup.length(q) === 0)) {
      if (g.blockedSince < 0) g.blockedSince = wallClock;
      if (wallClock - g.blockedSince < maxTaskIdleMs) return undefined;
    } else {
      g.blockedSince = -1;
    }
    return g.group.pick();
  }

  async function drain(partition: number): Promise<void> {
    const g = groupOf(partition);
    for (let q = nextQueue(g); q; q = nextQueue(g)) {
      const message = g.group.shift(q);
      await processRecord(await taskFor(partition), topology.inputs[q.index]!, q.topic, message);
    }
  }

  async function taskFor(partition: number): Promise<Task<I>> {
    let task = tasks.get(partition);
    if (!task) {
      task = rt.newTask(partition, undefined, new Map());
      for (const [name, store] of task.stores) {
        for (const m of written.get(rt.changelogs.get(name)!) ?? []) if (m.partition === partition && m.key !== null) store.restore({ key: m.key, value: m.value });
      }
      await task.processor.init?.(rt.contextFor(task, []));
      tasks.set(partition, task);
    }
    return task;
  }

  /** Commits a batch's messages, or aborts it when a failure was asked for. */
  function commit(task: Task<I>, messages: TopicMessages[]): void {
    if (failure) {
      const err = failure;
      failure = undefined;
      for (const s of task.stores.values()) s.abort();
      rt.stats.aborts++;
      throw err;
    }
    for (const tm of messages) {
      const list = written.get(tm.topic) ?? [];
      for (const m of tm.messages) {
        list.push({ key: m.key === null || m.key === undefined ? null : m.key.toString(), value: (m.value as Buffer | null) ?? null, partition: m.partition ?? task.partition, headers: m.headers ?? {} });
      }
      written.set(tm.topic, list);
    }
    for (const s of task.stores.values()) s.commit();
    rt.stats.batches++;
  }

  async function run(input: I, key: string | null, bytes: Buffer | null, o: PipeOptions = {}): Promise<void> {
    const partition = o.partition ?? (key === null ? 0 : hashKey(key) % partitions);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) throw new RangeError(`partition ${partition} is not one of the ${partitions}`);
    const task = await taskFor(partition);
    const topic = serde.topics.name(input);
    const offset = offsets.get(`${topic}:${partition}`) ?? 0;
    offsets.set(`${topic}:${partition}`, offset + 1);
    const timestamp = o.timestamp ?? Math.max(task.streamTime, 0);
    const message = { key: key === null ? null : Buffer.from(key), value: bytes, headers: o.headers ?? {}, offset: String(offset), timestamp: String(timestamp) } as unknown as KafkaMessage;
    const g = groupOf(partition);
    const q = g.group.queues[topology.inputs.indexOf(input)];
    if (!q) throw new RangeError(`${input} is not an input of topology ${topology.applicationId}`);
    g.group.add(q, message);
    await drain(partition);
  }

  async function processRecord(task: Task<I>, input: I, topic: string, message: KafkaMessage): Promise<void> {
    const outputs: Outputs = [];
    task.streamTime = Math.max(task.streamTime, Number(message.timestamp));
    try {
      const messages = [...(await rt.handle(task, input, message, topic))];
      await rt.punctuateStreamTime(task, outputs);
      await task.processor.flush?.(rt.contextFor(task, outputs, messages));
      messages.push(...(await rt.encodeOutputs(outputs)), ...rt.changelogMessages(task));
      rt.stats.processed++;
      commit(task, messages);
    } catch (err) {
      for (const s of task.stores.values()) s.abort();
      log(`batch aborted: ${errorMessage(err)}`);
      throw err;
    }
  }

  return {
    stats: rt.stats,
    async pipeGlobal(spec, key, value) {
      const rows = globals.get(spec.name);
      if (!rows) throw new Error(`global table '${spec.name}' is not declared on topology ${topology.applicationId}`);
      const declared = topology.globals?.find((g) => g.name === spec.name) as GlobalTableSpec<typeof spec.topic> | undefined;
      if (value === null) {
        rows.delete(key);
        declared?.onChange?.(key, undefined);
      } else {
        const decoded = await serde.decode(spec.topic, await serde.encode(spec.topic, value)); // through the real serde
        rows.set(key, decoded);
        declared?.onChange?.(key, decoded);
      }
    },
    tombstones: (topic) => (written.get(serde.topics.name(topic)) ?? []).filter((m) => m.value === null).map((m) => m.key ?? ''),
    pipe: async (input, key, value, o) => run(input, key, await serde.encode(input, value), o),
    pipeBytes: run,
    async outputs(topic) {
      const out = [];
      for (const m of written.get(serde.topics.name(topic)) ?? []) {
        if (m.value === null) continue;
        out.push({ key: m.key, value: await serde.decode(topic, m.value as Buffer) });
      }
      return out;
    },
    deadLetters: () => (written.get(serde.topics.name('deadLetters')) ?? []).map((m) => ({
      key: m.key, value: m.value, reason: headerText(m.headers, DLQ_HEADERS.reason) ?? '', code: headerText(m.headers, DLQ_HEADERS.code) ?? '',
    })),
    store<V>(spec: StoreSpec<V>, partition = 0) {
      const task = tasks.get(partition);
      const s = task?.stores.get(spec.name);
      if (task && !s) throw new Error(`store '${spec.name}' is not declared on topology ${topology.applicationId}`);
      return new Map((s ? [...s.entries()] : []) as Array<[string, V]>);
    },
    changelog: (spec) => (written.get(rt.changelogs.get(spec.name) ?? '') ?? []).map((m) => ({ key: m.key ?? '', value: m.value, partition: m.partition })),
    async advanceWallClock(ms) {
      wallClock += ms;
      for (const p of [...groups.keys()]) await drain(p);
      for (const [i, p] of (topology.punctuate ?? []).entries()) {
        if (p.type !== 'wall-clock') continue;
        let due = nextWallClock.get(i) ?? p.everyMs;
        for (; due <= wallClock; due += p.everyMs) {
          for (const task of tasks.values()) {
            const outputs: Outputs = [];
            await task.processor.punctuate?.('wall-clock', due, rt.contextFor(task, outputs));
            commit(task, [...(await rt.encodeOutputs(outputs)), ...rt.changelogMessages(task)]);
          }
        }
        nextWallClock.set(i, due);
      }
    },
    failNextCommit(err = new Error('injected commit failure')) {
      failure = err;
    },
    async restart() {
      for (const task of tasks.values()) await task.processor.close?.();
      tasks.clear();
      for (let p = 0; p < partitions; p++) await taskFor(p);
    },
    async close() {
      for (const task of tasks.values()) await task.processor.close?.();
      tasks.clear();
    },
  };
}
