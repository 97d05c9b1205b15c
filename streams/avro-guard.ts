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
}

function fail(path: string, what: string): never {
  throw new DecodeError(`${path || '(record)'}: ${what}`);
}

/** Zigzag varint (Avro int and long); exact up to 2^53, which is all a bound check needs. */
function readLong(c: Cursor, path: string): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (i >= 10) fail(path, 'varint longer than 10 bytes');
    if (c.pos >= c.buf.length) fail(path, 'truncated (varint past the end)');
    const b = c.buf[c.pos++]!;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) break;
    scale *= 128;
  }
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function skip(c: Cursor, n: number, path: string): void {
  if (n > c.buf.length - c.pos) fail(path, `truncated (${n} bytes claimed, ${c.buf.length - c.pos} left)`);
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
function blocks(c: Cursor, path: string, limits: DecodeLimits, each: (i: number) => void): void {
  let total = 0;
  for (;;) {
    let n = readLong(c, path);
    if (n === 0) return;
    if (n < 0) {
      n = -n;
      readLong(c, path); // the block's size in bytes
    }
    total += n;
    if (total > limits.maxItems) fail(path, `claims ${total} items or more, over the limit of ${limits.maxItems}`);
    for (let i = 0; i < n; i++) each(total - n + i);
  }
}

function walk(t: AnyType, c: Cursor, path: string, limits: DecodeLimits): void {
  if (t.underlyingType) return walk(t.underlyingType, c, path, limits); // logical types
  switch (t.typeName) {
    case 'null':
      return;
    case 'boolean':
      return skip(c, 1, path);
    case 'int':
    case 'long':
      readLong(c, path);
      return;
    case 'float':
      return skip(c, 4, path);
    case 'double':
      return skip(c, 8, path);
    case 'string':
    case 'bytes': {
      const n = readLong(c, path);
      if (n < 0) fail(path, `negative length ${n}`);
      if (n > limits.maxBytes) fail(path, `claims ${n} bytes, over the limit of ${limits.maxBytes}`);
      return skip(c, n, path);
    }
    case 'fixed':
      return skip(c, t.size ?? 0, path);
    case 'enum': {
      const i = readLong(c, path);
      if (i < 0 || i >= (t.symbols?.length ?? 0)) fail(path, `enum index ${i} out of range`);
      return;
    }
    case 'array':
      return blocks(c, path, limits, (i) => walk(t.itemsType!, c, `${path}[${i}]`, limits));
    case 'map':
      return blocks(c, path, limits, (i) => {
        walk({ typeName: 'string' } as AnyType, c, `${path}{${i}}`, limits);
        walk(t.valuesType!, c, `${path}{${i}}`, limits);
      });
    case 'record':
    case 'error':
      for (const f of t.fields ?? []) walk(f.type, c, path ? `${path}.${f.name}` : f.name, limits);
      return;
    case 'union:unwrapped':
    case 'union:wrapped': {
      const i = readLong(c, path);
      const branch = t.types?.[i];
      if (!branch) fail(path, `union branch ${i} out of range`);
      return walk(branch, c, path, limits);
    }
    default:
      fail(path, `unsupported Avro type ${t.typeName}`);
  }
}

/**
 * Walks an Avro body as the writer's `type` lays it out, without building values, and throws
 * {@link DecodeError} naming the field when a length or count is forged or over `limits`, or the body is
 * truncated or has bytes left over. Run before decoding: avsc sizes an array by the count the bytes claim.
 */
export function checkAvroBody(type: avro.Type, body: Buffer, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): void {
  const c: Cursor = { buf: body, pos: 0 };
  walk(type as AnyType, c, '', limits);
  if (c.pos !== body.length) fail('', `${body.length - c.pos} bytes left over after the record`);
}
