import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { compileAvroCheck, DEFAULT_DECODE_LIMITS, type DecodeLimits } from './avro-guard.js';
import { DecodeError, TransientError, ValidationError, errorMessage } from './errors.js';
import { withRetry } from './retry.js';
import { AVRO_TOPIC_KEYS, TOPICS, type AvroTopicKey, type TopicNames, type TopicValues } from './topics.js';

/** Reads the Avro schema of a topic from schemas/. */
export function readTopicSchema(schemasDir: string, key: AvroTopicKey): avro.Schema {
  const file = TOPICS[key].schemaFile;
  if (!file) throw new Error(`topic ${key} has no Avro schema`);
  return JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as avro.Schema;
}

/** Encodes and decodes topic values in the Confluent wire format (magic byte, schema id, Avro body). */
export interface AvroSerde {
  readonly topics: TopicNames;
  /** Registry ids of the schemas this process writes with. */
  readonly schemaIds: ReadonlyMap<AvroTopicKey, number>;
  /** Throws {@link ValidationError} when `value` does not match the topic's schema (naming the bad paths). */
  encode<K extends AvroTopicKey>(key: K, value: TopicValues[K]): Promise<Buffer>;
  /**
   * Decodes with the writer's schema from the registry, resolved to this process's reader schema.
   * Throws {@link DecodeError} (not retriable) or {@link TransientError} (registry unreachable).
   */
  decode<K extends AvroTopicKey>(key: K, bytes: Buffer): Promise<TopicValues[K]>;
  /**
   * {@link decode} without a promise when the writer's schema is known already (the common case: it is fetched
   * once per id): the value, or `undefined` when the schema is still to be fetched (then call `decode`). Throws
   * the same {@link DecodeError}s as `decode`, from the same checks.
   */
  decodeCached?<K extends AvroTopicKey>(key: K, bytes: Buffer): TopicValues[K] | undefined;
}

export interface SerdeOptions {
  readonly registry: SchemaRegistry;
  readonly topics: TopicNames;
  readonly schemasDir: string;
  /** Which topics to register (default: all Avro topics). */
  readonly keys?: readonly AvroTopicKey[];
  /** Longest string and largest array a record may claim (checked before decoding; default {@link DEFAULT_DECODE_LIMITS}). */
  readonly limits?: DecodeLimits;
}

/** A socket-level failure: the registry client reports these as HTTP status 400 with the socket error in the message. */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|fetch failed|timeout/i;

/**
 * What a registry client failure means: unreachable, timed out, 5xx, 408 or 429 is a {@link TransientError}
 * (retried, never dead-lettered); any other answer (unknown schema id, ...) is a {@link DecodeError}.
 */
export function registryError(err: unknown, what: string): Error {
  const status = err && typeof err === 'object' && 'status' in err ? Number((err as { status: unknown }).status) : undefined;
  if (status === undefined || status >= 500 || status === 408 || status === 429 || UNREACHABLE.test(errorMessage(err))) {
    return new TransientError(`schema registry unavailable while ${what}: ${errorMessage(err)}`, {}, { cause: err });
  }
  return new DecodeError(`${what}: ${errorMessage(err)}`, {}, { cause: err });
}

/** The registry client; `auth` (SCHEMA_REGISTRY_USERNAME / _PASSWORD) is sent as HTTP basic auth on every request. */
export function createSchemaRegistry(url: string, auth?: { readonly username: string; readonly password: string }): SchemaRegistry {
  return new SchemaRegistry({ host: url, retry: { retries: 3, initialRetryTimeInSecs: 0.2 }, ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}) });
}

/**
 * Registers each topic's schema under its value subject with BACKWARD compatibility (idempotent: the same
 * schema gets the same id) and returns a serde bound to those ids.
 */
export async function createAvroSerde(opts: SerdeOptions): Promise<AvroSerde> {
  const keys = opts.keys ?? AVRO_TOPIC_KEYS;
  const readers = new Map<AvroTopicKey, { schema: avro.Schema; type: avro.Type }>();
  const ids = new Map<AvroTopicKey, number>();
  for (const key of keys) {
    const schema = readTopicSchema(opts.schemasDir, key);
    readers.set(key, { schema, type: avro.Type.forSchema(schema) });
    const { id } = await withRetry(
      () => opts.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject: opts.topics.subject(key), compatibility: COMPATIBILITY.BACKWARD },
      ).catch((err: unknown) => { throw registryError(err, `registering ${opts.topics.subject(key)}`); }),
    );
    ids.set(key, id);
  }
  const reader = (key: AvroTopicKey) => {
    const r = readers.get(key);
    if (!r) throw new Error(`serde was not created for topic ${key}`);
    return r;
  };
  // Decoding resolves the writer's schema (fetched once per id, then cached by the registry client) into
  // this process's reader type; resolvers are built once per (topic, writer id), never per record.
  const limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  type Resolved = { readonly writer: avro.Type; readonly check: (body: Buffer) => void; readonly resolver: avro.Resolver | null };
  const resolved = new Map<AvroTopicKey, Map<number, Resolved>>(); // by topic, then writer id: no key string per record
  const resolverFor = async (key: AvroTopicKey, id: number): Promise<Resolved> => {
    const writer = (await opts.registry.getSchema(id)) as unknown as avro.Type;
    const { type } = reader(key);
    const entry = { writer, check: compileAvroCheck(writer, limits), resolver: writer.equals(type) ? null : type.createResolver(writer) };
    let byId = resolved.get(key);
    if (!byId) resolved.set(key, (byId = new Map()));
    byId.set(id, entry);
    return entry;
  };
  /** The writer's schema id of Confluent wire-format bytes (the magic byte checked first). */
  const schemaId = (key: AvroTopicKey, bytes: Buffer): number => {
    reader(key); // an unknown topic fails as before, whatever the bytes
    if (bytes.length < 5 || bytes[0] !== 0) {
      throw new DecodeError(`not in Confluent wire format (magic byte ${bytes[0] ?? 'missing'}, ${bytes.length} bytes)`);
    }
    return bytes.readInt32BE(1);
  };
  /** The bound checks, then the Avro decode, with the writer's schema resolved: synchronous, so no await per record. */
  const decodeWith = (key: AvroTopicKey, type: avro.Type, id: number, entry: Resolved, bytes: Buffer): unknown => {
    const { check, resolver } = entry;
    const body = bytes.subarray(5);
    try {
      check(body);
    } catch (err) {
      throw new DecodeError(`undecodable Avro for ${type.name ?? key} (schema id ${id}): ${errorMessage(err)}`, {}, { cause: err });
    }
    try {
      return resolver ? type.fromBuffer(body, resolver) : type.fromBuffer(body);
    } catch (err) {
      throw new DecodeError(`undecodable Avro for ${type.name ?? key} (schema id ${id}): ${errorMessage(err)}`, {}, { cause: err });
    }
  };
  return {
    topics: opts.topics,
    schemaIds: ids,
    async encode(key, value) {
      const { type } = reader(key);
      const bad: string[] = [];
      if (!type.isValid(value, { errorHook: (path) => bad.push(path.join('.') || '(record)') })) {
        throw new ValidationError(`not a valid ${type.name ?? key}: bad field(s) ${bad.join(', ')}`, { topic: opts.topics.name(key) });
      }
      const header = Buffer.alloc(5);
      header.writeInt32BE(ids.get(key) as number, 1); // byte 0: magic 0, then the schema id
      return Buffer.concat([header, type.toBuffer(value)]);
    },
    async decode(key, bytes) {
      const { type } = reader(key);
      const id = schemaId(key, bytes);
      let entry = resolved.get(key)?.get(id);
      try {
        entry ??= await resolverFor(key, id);
      } catch (err) {
        if (err instanceof TransientError) throw err;
        if (err && typeof err === 'object' && 'status' in err) throw registryError(err, `fetching writer schema ${id}`);
        if (err instanceof Error && UNREACHABLE.test(err.message)) {
          throw new TransientError(`schema registry unavailable: ${err.message}`, {}, { cause: err });
        }
        throw new DecodeError(`writer schema ${id} cannot be read as ${type.name ?? key}: ${errorMessage(err)}`, {}, { cause: err });
      }
      return decodeWith(key, type, id, entry, bytes) as TopicValues[typeof key];
    },
    decodeCached(key, bytes) {
      const id = schemaId(key, bytes);
      const entry = resolved.get(key)?.get(id);
      if (entry === undefined) return undefined;
      return decodeWith(key, reader(key).type, id, entry, bytes) as TopicValues[typeof key];
    },
  };
}
