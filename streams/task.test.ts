import { describe, expect, it } from 'vitest';
import { mergeByTimestamp } from './task.js';

const recs = (input: string, ...ts: number[]) => ts.map((t, i) => ({ id: `${input}${i}`, timestamp: String(t) }));

describe('mergeByTimestamp (issue 8: a task processes its inputs in timestamp order)', () => {
  it('takes the oldest next record of any input, ties to the first input', () => {
    const out = [...mergeByTimestamp([recs('l', 1, 4, 6), recs('f', 2, 4, 9)])].map(([i, r]) => `${i}:${r.id}`);
    expect(out).toEqual(['0:l0', '1:f0', '0:l1', '1:f1', '0:l2', '1:f2']);
  });

  it('keeps each input in its own (offset) order even where its timestamps go back', () => {
    const out = [...mergeByTimestamp([recs('l', 5, 1, 7), recs('f', 3)])].map(([, r]) => r.id);
    expect(out).toEqual(['f0', 'l0', 'l1', 'l2']);
  });

  it('handles empty and single inputs', () => {
    expect([...mergeByTimestamp([])]).toEqual([]);
    expect([...mergeByTimestamp([[], recs('f', 1, 2)])].map(([i]) => i)).toEqual([1, 1]);
  });
});
