import type avro from 'avsc';
import { DecodeError } from './errors.js';

/** Bounds on what one record may claim, checked before the decoder allocates anything. */
export interface DecodeLimits {
  /** Items of one array or entries of one map, over all its blocks (default 100,000). */
  readonly maxItems: number;
  /** Bytes of one string or bytes value (default 1 MiB). */
  readonly maxBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxItems: 100_000, maxBytes: 1 << 20 };

interface Cursor {
  readonly buf: Buffer;
  pos: number;
  /** Field names and item indexes down to where the walk is: joined only when it fails (no garbage per record). */
  readonly path: Array<string | number>;
}

function fail(c: Cursor, what: string): never {
  let path = '';
  for (const p of c.path) path += typeof p === 'number' ? `[${p}]` : path ? `.${p}` : p;
  throw new DecodeError(`${path || '(record)'}: ${what}`);
}

/** Zigzag varint (Avro int and long); exact up to 2^53, which is all a bound check needs. */
function readLong(c: Cursor): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (i >= 10) fail(c, 'varint longer than 10 bytes');
    if (c.pos >= c.buf.length) fail(c, 'truncated (varint past the end)');
    const b = c.buf[c.pos++]!;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) break;
    scale *= 128;
  }
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function skip(c: Cursor, n: number): void {
  if (n > c.buf.length - c.pos) fail(c, `truncated (${n} bytes claimed, ${c.buf.length - c.pos} left)`);
  c.pos += n;
}

type AnyType = avro.Type & {
  readonly typeName: string;
  readonly underlyingType?: AnyType;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: AnyType }>;
  readonly itemsType?: AnyType;
  readonly valuesType?: AnyType;
  readonly types?: readonly AnyType[];
  readonly symbols?: readonly string[];
  readonly size?: number;
};

/** Reads the block counts of an array or map, checking the running total; calls `each` per item. */
function blocks(c: Cursor, limits: DecodeLimits, item: AnyType, key: boolean): void {
  let total = 0;
  for (;;) {
    let n = readLong(c);
    if (n === 0) return;
    if (n < 0) {
      n = -n;
      readLong(c); // the block's size in bytes
    }
    total += n;
    if (total > limits.maxItems) fail(c, `claims ${total} items or more, over the limit of ${limits.maxItems}`);
    for (let i = total - n; i < total; i++) {
      c.path.push(i);
      if (key) walk(STRING, c, limits);
      walk(item, c, limits);
      c.path.pop();
    }
  }
}

const STRING = { typeName: 'string' } as AnyType;

function walk(t: AnyType, c: Cursor, limits: DecodeLimits): void {
  if (t.underlyingType) return walk(t.underlyingType, c, limits); // logical types
  switch (t.typeName) {
    case 'null':
      return;
    case 'boolean':
      return skip(c, 1);
    case 'int':
    case 'long':
      readLong(c);
      return;
    case 'float':
      return skip(c, 4);
    case 'double':
      return skip(c, 8);
    case 'string':
    case 'bytes': {
      const n = readLong(c);
      if (n < 0) fail(c, `negative length ${n}`);
      if (n > limits.maxBytes) fail(c, `claims ${n} bytes, over the limit of ${limits.maxBytes}`);
      return skip(c, n);
    }
    case 'fixed':
      return skip(c, t.size ?? 0);
    case 'enum': {
      const i = readLong(c);
      if (i < 0 || i >= (t.symbols?.length ?? 0)) fail(c, `enum index ${i} out of range`);
      return;
    }
    case 'array':
      return blocks(c, limits, t.itemsType!, false);
    case 'map':
      return blocks(c, limits, t.valuesType!, true);
    case 'record':
    case 'error':
      for (const f of t.fields ?? []) {
        c.path.push(f.name);
        walk(f.type, c, limits);
        c.path.pop();
      }
      return;
    case 'union:unwrapped':
    case 'union:wrapped': {
      const i = readLong(c);
      const branch = t.types?.[i];
      if (!branch) fail(c, `union branch ${i} out of range`);
      return walk(branch, c, limits);
    }
    default:
      fail(c, `unsupported Avro type ${t.typeName}`);
  }
}

/**
 * Walks an Avro body as the writer's `type` lays it out, without building values, and throws
 * {@link DecodeError} naming the field when a length or count is forged or over `limits`, or the body is
 * truncated or has bytes left over. Run before decoding: avsc sizes an array by the count the bytes claim.
 */
export function checkAvroBody(type: avro.Type, body: Buffer, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): void {
  const c: Cursor = { buf: body, pos: 0, path: [] };
  walk(type as AnyType, c, limits);
  if (c.pos !== body.length) fail({ ...c, path: [] }, `${body.length - c.pos} bytes left over after the record`);
}

/*
 * The same check compiled once per writer schema (the serde caches it with the schema's resolver): a tree of
 * closures instead of a switch on the type per value, and no field path kept on the way. It only ever says
 * "fine" or "not sure": on anything it would reject, `checkAvroBody` walks the body again and throws the
 * error, so the messages (field path included) and what is accepted stay those of `checkAvroBody`.
 */

/** Thrown (never caught outside this module) when the compiled check finds something to report. */
const REJECT = new Error('rejected by the compiled Avro check');
/** The body being checked and the position in it: one check runs at a time (it never awaits). */
const EMPTY = Buffer.alloc(0);
let body: Buffer = EMPTY;
let at = 0;

function fastLong(): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (i >= 10 || at >= body.length) throw REJECT;
    const b = body[at++]!;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) break;
    scale *= 128;
  }
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function fastSkip(n: number): void {
  if (n > body.length - at) throw REJECT;
  at += n;
}

type Check = () => void;
const nothing: Check = () => {};

function compile(t: AnyType, limits: DecodeLimits, named: Map<AnyType, Check>): Check {
  if (t.underlyingType) return compile(t.underlyingType, limits, named);
  switch (t.typeName) {
    case 'null':
      return nothing;
    case 'boolean':
      return () => fastSkip(1);
    case 'int':
    case 'long':
      return () => { fastLong(); };
    case 'float':
      return () => fastSkip(4);
    case 'double':
      return () => fastSkip(8);
    case 'string':
    case 'bytes': {
      const max = limits.maxBytes;
      return () => {
        const n = fastLong();
        if (n < 0 || n > max) throw REJECT;
        fastSkip(n);
      };
    }
    case 'fixed': {
      const size = t.size ?? 0;
      return () => fastSkip(size);
    }
    case 'enum': {
      const symbols = t.symbols?.length ?? 0;
      return () => {
        const i = fastLong();
        if (i < 0 || i >= symbols) throw REJECT;
      };
    }
    case 'array':
    case 'map': {
      const item = compile(t.typeName === 'array' ? t.itemsType! : t.valuesType!, limits, named);
      const key = t.typeName === 'map' ? compile(STRING, limits, named) : nothing;
      const max = limits.maxItems;
      return () => {
        let total = 0;
        for (;;) {
          let n = fastLong();
          if (n === 0) return;
          if (n < 0) {
            n = -n;
            fastLong();
          }
          total += n;
          if (total > max) throw REJECT;
          for (let i = 0; i < n; i++) {
            key();
            item();
          }
        }
      };
    }
    case 'record':
    case 'error': {
      const done = named.get(t);
      if (done) return done;
      // a record may contain itself (a linked list): its check is looked up when it runs, not when it is built
      let fields: Check[] = [];
      const check: Check = () => {
        for (let i = 0; i < fields.length; i++) fields[i]!();
      };
      named.set(t, check);
      fields = (t.fields ?? []).map((f) => compile(f.type, limits, named));
      return check;
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      let branches: Check[] = [];
      const check: Check = () => {
        const branch = branches[fastLong()];
        if (!branch) throw REJECT;
        branch();
      };
      branches = (t.types ?? []).map((b) => compile(b, limits, named));
      return check;
    }
    default:
      return () => { throw REJECT; };
  }
}

/**
 * `checkAvroBody` for one writer type, built once: returns a function that throws what `checkAvroBody(type,
 * body, limits)` throws and accepts what it accepts.
 */
export function compileAvroCheck(type: avro.Type, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): (body: Buffer) => void {
  const check = compile(type as AnyType, limits, new Map());
  return (bytes) => {
    body = bytes;
    at = 0;
    let ok = false;
    try {
      check();
      ok = at === bytes.length;
    } catch (err) {
      if (err !== REJECT) throw err;
    } finally {
      body = EMPTY; // holds no record's bytes between calls
    }
    if (!ok) checkAvroBody(type, bytes, limits); // throws the error, naming the field
  };
}
