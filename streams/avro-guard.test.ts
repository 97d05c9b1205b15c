import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { checkAvroBody, compileAvroCheck, DEFAULT_DECODE_LIMITS } from './avro-guard.js';
import { DecodeError } from './errors.js';
import { readTopicSchema } from './serde.js';
import { AVRO_TOPIC_KEYS } from './topics.js';

const schemasDir = join(findRootDir(), 'schemas');
const playlistType = avro.Type.forSchema(readTopicSchema(schemasDir, 'playlists'));

/** Zigzag varint, as Avro writes int and long. */
function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return Buffer.from(out);
}
const str = (s: string) => Buffer.concat([varint(Buffer.byteLength(s)), Buffer.from(s)]);

/** A PlaylistEvent body up to its `tracks` field; `tail` follows. */
const head = () => Buffer.concat([str('e1'), str('p1'), varint(0), str('ana'), str('Road trip')]);

describe('checkAvroBody (issue 8: bounded decoding)', () => {
  it('passes every valid record of every topic schema, random ones included', () => {
    for (const key of AVRO_TOPIC_KEYS) {
      const type = avro.Type.forSchema(readTopicSchema(schemasDir, key));
      for (let i = 0; i < 50; i++) expect(() => checkAvroBody(type, type.toBuffer(type.random())), key).not.toThrow();
    }
  });

  it('rejects an array that claims 2^31 items before anything is allocated', () => {
    const forged = Buffer.concat([head(), varint(2 ** 31), str('t1')]);
    expect(() => checkAvroBody(playlistType, forged)).toThrow(DecodeError);
    expect(() => checkAvroBody(playlistType, forged)).toThrow(/^tracks: claims 2147483648 items or more, over the limit of 100000$/);
  });

  it('counts items over all blocks, negative (sized) block counts included', () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxItems: 3 };
    const two = Buffer.concat([varint(-2), varint(4), str('a'), str('b')]);
    const ok = Buffer.concat([head(), varint(2), str('a'), str('b'), varint(0), varint(7), Buffer.from([1]), varint(1)]);
    expect(() => checkAvroBody(playlistType, ok, limits)).not.toThrow();
    const over = Buffer.concat([head(), two, two, varint(0), varint(7), Buffer.from([1]), varint(1)]);
    expect(() => checkAvroBody(playlistType, over, limits)).toThrow(/tracks: claims 4 items or more/);
  });

  it('rejects a string longer than the limit, and one longer than the bytes left', () => {
    const long = Buffer.concat([varint(2 ** 40), Buffer.from('x')]);
    expect(() => checkAvroBody(playlistType, long)).toThrow(/^eventId: claims 1099511627776 bytes, over the limit of 1048576$/);
    const short = Buffer.concat([varint(10), Buffer.from('abc')]);
    expect(() => checkAvroBody(playlistType, short)).toThrow(/^eventId: truncated \(10 bytes claimed, 3 left\)$/);
  });

  it('rejects a truncated record, bytes left over, and an enum or union index out of range', () => {
    const valid = playlistType.toBuffer({ eventId: 'e', playlistId: 'p', kind: 'CREATE', ownerId: 'o', name: 'n', tracks: ['a'], followers: 1, organic: true, eventTime: 5 });
    expect(() => checkAvroBody(playlistType, valid)).not.toThrow();
    expect(() => checkAvroBody(playlistType, valid.subarray(0, valid.length - 1))).toThrow(/eventTime: truncated/);
    expect(() => checkAvroBody(playlistType, Buffer.concat([valid, Buffer.from([0])]))).toThrow(/1 bytes left over/);
    expect(() => checkAvroBody(playlistType, Buffer.concat([str('e'), str('p'), varint(9)]))).toThrow(/kind: enum index 9 out of range/);
    const feedback = avro.Type.forSchema(readTopicSchema(schemasDir, 'feedback'));
    const bad = Buffer.concat([str('e'), str('u'), varint(0), varint(5)]);
    expect(() => checkAvroBody(feedback, bad)).toThrow(/trackId: union branch 5 out of range/);
  });
});

describe('compileAvroCheck (the serde\'s per-schema check)', () => {
  /** What a check does with a body: passes, or the error message it throws. */
  const outcome = (check: () => void): string => {
    try {
      check();
      return 'ok';
    } catch (err) {
      return `${(err as Error).constructor.name}: ${(err as Error).message}`;
    }
  };
  // a deterministic generator (xorshift), so that a failure can be replayed
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };

  it('accepts and rejects exactly what checkAvroBody does, with its messages, on valid, cut and corrupted bodies of every schema', () => {
    const limits = { maxItems: 3, maxBytes: 12 }; // low, so that random records pass them and go over them
    let rejected = 0;
    for (const key of AVRO_TOPIC_KEYS) {
      const type = avro.Type.forSchema(readTopicSchema(schemasDir, key));
      const check = compileAvroCheck(type, limits);
      for (let i = 0; i < 200; i++) {
        const valid = type.toBuffer(type.random());
        const bodies = [valid, valid.subarray(0, Math.floor(next() * valid.length)), Buffer.concat([valid, Buffer.from([0])])];
        const corrupt = Buffer.from(valid);
        for (let k = 0; k < 3 && corrupt.length; k++) corrupt[Math.floor(next() * corrupt.length)] = Math.floor(next() * 256);
        bodies.push(corrupt);
        for (const body of bodies) {
          const want = outcome(() => checkAvroBody(type, body, limits));
          expect(outcome(() => check(body)), `${key} ${body.toString('hex')}`).toBe(want);
          if (want !== 'ok') rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(1000); // the rejections were exercised, not only the passes
  });

  it('names the field of a forged count, as checkAvroBody does', () => {
    const forged = Buffer.concat([head(), varint(2 ** 31), str('t1')]);
    expect(() => compileAvroCheck(playlistType)(forged)).toThrow(/^tracks: claims 2147483648 items or more, over the limit of 100000$/);
  });
});
