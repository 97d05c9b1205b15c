/**
 * Key-value state stores of the stream runtime, in the Kafka Streams manner: a task's store is restored from
 * its compacted changelog topic on assignment, and writes made while processing a batch stay in a write
 * buffer until the batch's transaction commits (then they are applied) or aborts (then they are dropped).
 */

/** How a store's values become changelog bytes and back. */
export interface StoreCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

/** JSON values (plain data: no Maps, typed arrays or bigints). */
export function jsonCodec<V>(): StoreCodec<V> {
  return {
    encode: (value) => Buffer.from(JSON.stringify(value)),
    decode: (bytes) => JSON.parse(bytes.toString('utf8')) as V,
  };
}

/** A store declared on a topology: its name (and so its changelog topic) and its value codec. */
export interface StoreSpec<V = unknown> {
  readonly name: string;
  readonly codec: StoreCodec<V>;
}

export function storeSpec<V>(name: string, codec: StoreCodec<V> = jsonCodec<V>()): StoreSpec<V> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new RangeError(`store name '${name}' may hold only letters, digits, '.', '_' and '-'`);
  return { name, codec };
}

/** What a processor sees of a store: reads see the batch's own writes. */
export interface KeyValueStore<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  /** Committed entries plus this batch's writes, in no particular order. */
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/** One changelog record: `value` null deletes the key (a tombstone on the compacted topic). */
export interface ChangelogRecord {
  readonly key: string;
  readonly value: Buffer | null;
}

/** The runtime's handle on a task's store: the processor's view plus the transaction hooks. */
export interface TaskStore<V> extends KeyValueStore<V> {
  /** Applies a changelog record during restoration (not buffered). */
  restore(record: ChangelogRecord): void;
  /** The changelog records of this batch's writes (the last write per key). */
  pending(): ChangelogRecord[];
  /** The batch committed: its writes become the store's state. */
  commit(): void;
  /** The batch aborted: its writes vanish. */
  abort(): void;
  /** Marks the batch's writes so far (before each record). Allocates nothing until a write follows. */
  mark(): void;
  /** Undoes every write since the last mark: a record that failed (dead-lettered or retried) leaves nothing behind. */
  rollback(): void;
}

const DELETED = Symbol('deleted');

/**
 * A task's store. Committed state is kept as the changelog's bytes, so a value a processor reads is always a
 * fresh copy: mutating it changes nothing until it is put, and an aborted batch cannot leave a trace. Within a
 * batch, reads of one key return the same object; restoration copies bytes and decodes nothing.
 */
export function createTaskStore<V>(spec: StoreSpec<V>): TaskStore<V> {
  const committed = new Map<string, Buffer>();
  const buffer = new Map<string, V | typeof DELETED>();
  const readCache = new Map<string, V>();
  let encoded: Map<string, Buffer | null> | undefined;
  /**
   * Since the last mark, per write: the key and its buffered entry before the write (undefined: none), in pairs.
   * Undone newest first, so each key ends at its entry before the record's first write. Reused across records.
   */
  const journal: Array<string | V | typeof DELETED | undefined> = [];
  let marked = false;
  const clear = () => {
    buffer.clear();
    readCache.clear();
    encoded = undefined;
    journal.length = 0;
    marked = false;
  };
  const write = (key: string, value: V | typeof DELETED) => {
    if (marked) journal.push(key, buffer.get(key));
    buffer.set(key, value);
    encoded = undefined;
  };
  const read = (key: string): V | undefined => {
    const b = buffer.get(key);
    if (b === DELETED) return undefined;
    if (b !== undefined) return b;
    const cached = readCache.get(key);
    if (cached !== undefined) return cached;
    const bytes = committed.get(key);
    if (bytes === undefined) return undefined;
    const v = spec.codec.decode(bytes);
    readCache.set(key, v);
    return v;
  };
  return {
    get: read,
    put(key, value) {
      if (value === undefined) throw new TypeError(`store ${spec.name}: put(${key}, undefined); use delete`);
      write(key, value);
    },
    delete(key) {
      write(key, DELETED);
    },
    *entries() {
      for (const k of committed.keys()) {
        if (buffer.has(k)) continue;
        const v = read(k);
        if (v !== undefined) yield [k, v];
      }
      for (const [k, v] of buffer) if (v !== DELETED) yield [k, v];
    },
    get size() {
      let n = committed.size;
      for (const [k, v] of buffer) {
        const had = committed.has(k);
        if (v === DELETED && had) n--;
        else if (v !== DELETED && !had) n++;
      }
      return n;
    },
    restore(record) {
      if (record.value === null) committed.delete(record.key);
      else committed.set(record.key, record.value);
    },
    pending() {
      encoded ??= new Map([...buffer].map(([key, v]) => [key, v === DELETED ? null : spec.codec.encode(v)]));
      return [...encoded].map(([key, value]) => ({ key, value }));
    },
    commit() {
      for (const { key, value } of this.pending()) {
        if (value === null) committed.delete(key);
        else committed.set(key, value);
      }
      clear();
    },
    abort: clear,
    mark() {
      marked = true;
      if (journal.length > 0) journal.length = 0;
    },
    rollback() {
      for (let i = journal.length - 2; i >= 0; i -= 2) {
        const k = journal[i] as string;
        const prev = journal[i + 1] as V | typeof DELETED | undefined;
        if (prev === undefined) buffer.delete(k);
        else buffer.set(k, prev);
      }
      journal.length = 0;
      readCache.clear(); // a value read and mutated in place by the failed record is read afresh
      encoded = undefined;
    },
  };
}
