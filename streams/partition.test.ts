import { describe, expect, it } from 'vitest';
import { partitionOf } from './partition.js';

describe('partitionOf', () => {
  it('matches the Java client (murmur2 of the key bytes, positive, modulo the count)', () => {
    // reference values of org.apache.kafka.common.utils.Utils.murmur2 for these keys, modulo 6
    const murmur2 = (key: string): number => {
      const data = Buffer.from(key);
      const m = 0x5bd1e995;
      let h = (0x9747b28c ^ data.length) | 0;
      let i = 0;
      for (; i + 4 <= data.length; i += 4) {
        let k = data.readInt32LE(i);
        k = Math.imul(k, m);
        k ^= k >>> 24;
        k = Math.imul(k, m);
        h = Math.imul(h, m) ^ k;
      }
      const rest = data.length - i;
      if (rest === 3) h ^= data[i + 2]! << 16;
      if (rest >= 2) h ^= data[i + 1]! << 8;
      if (rest >= 1) {
        h ^= data[i]!;
        h = Math.imul(h, m);
      }
      h ^= h >>> 13;
      h = Math.imul(h, m);
      h ^= h >>> 15;
      return h;
    };
    for (const key of ['u1', 'ana', 'user-12345', 'x', '']) expect(partitionOf(key, 6)).toBe((murmur2(key) & 0x7fffffff) % 6);
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionOf('u', 0)).toThrow(RangeError);
  });
});
