import { describe, expect, it } from 'vitest';
import { createTaskStore, storeSpec } from './store.js';

const spec = storeSpec<{ n: number; tags: string[] }>('things');

describe('task stores (issue 8: writes become state only when their batch commits)', () => {
  it('reads its own writes within a batch, applies them on commit and drops them on abort', () => {
    const s = createTaskStore(spec);
    s.put('a', { n: 1, tags: [] });
    expect(s.get('a')).toEqual({ n: 1, tags: [] });
    s.commit();
    s.put('a', { n: 2, tags: ['x'] });
    s.put('b', { n: 3, tags: [] });
    s.delete('a');
    expect(s.get('a')).toBeUndefined();
    expect(s.size).toBe(1);
    s.abort();
    expect(s.get('a')).toEqual({ n: 1, tags: [] });
    expect(s.get('b')).toBeUndefined();
    expect([...s.entries()]).toEqual([['a', { n: 1, tags: [] }]]);
  });

  it('hands out copies: a committed value mutated in place and never put is unchanged after an abort', () => {
    const s = createTaskStore(spec);
    s.put('a', { n: 1, tags: [] });
    s.commit();
    const v = s.get('a')!;
    v.n = 99;
    v.tags.push('oops');
    expect(s.get('a')).toBe(v); // the same object within the batch
    s.abort();
    expect(s.get('a')).toEqual({ n: 1, tags: [] });
  });

  it('lists the batch writes as changelog records (last write per key, null for a delete)', () => {
    const s = createTaskStore(spec);
    s.put('a', { n: 1, tags: [] });
    s.put('a', { n: 2, tags: [] });
    s.delete('b');
    expect(s.pending()).toEqual([
      { key: 'a', value: Buffer.from(JSON.stringify({ n: 2, tags: [] })) },
      { key: 'b', value: null },
    ]);
    s.commit();
    expect(s.pending()).toEqual([]);
  });

  it('restores from changelog records, a tombstone deleting', () => {
    const s = createTaskStore(spec);
    s.restore({ key: 'a', value: Buffer.from('{"n":1,"tags":[]}') });
    s.restore({ key: 'b', value: Buffer.from('{"n":2,"tags":[]}') });
    s.restore({ key: 'a', value: null });
    expect([...s.entries()]).toEqual([['b', { n: 2, tags: [] }]]);
  });

  it('rolls back to the last mark: the writes of a failed record vanish, the batch keeps the others', () => {
    const s = createTaskStore(spec);
    s.put('a', { n: 1, tags: [] });
    s.commit();
    s.mark();
    s.put('a', { n: 2, tags: [] }); // record 1
    s.mark(); // record 2 starts
    s.put('a', { n: 3, tags: [] });
    s.put('c', { n: 4, tags: [] });
    s.delete('a');
    s.rollback();
    expect(s.get('a')).toEqual({ n: 2, tags: [] });
    expect(s.get('c')).toBeUndefined();
    s.commit();
    expect([...s.entries()]).toEqual([['a', { n: 2, tags: [] }]]);
  });

  it('rolls back only the last record after many records, a rollback or a commit between them', () => {
    const s = createTaskStore(spec);
    for (let i = 1; i <= 3; i++) { // records that each write a and b
      s.mark();
      s.put('a', { n: i, tags: [] });
      s.put('b', { n: 10 * i, tags: [] });
    }
    s.mark(); // record 4 fails
    s.put('b', { n: 40, tags: [] });
    s.rollback();
    s.mark(); // record 5 writes nothing and succeeds; record 6 fails before writing: nothing to undo
    s.mark();
    s.rollback();
    expect(s.get('a')).toEqual({ n: 3, tags: [] });
    expect(s.get('b')).toEqual({ n: 30, tags: [] });
    s.commit();
    s.mark(); // after a commit, a failed record writing a key it wrote in the batch before still restores the committed value
    s.put('a', { n: 7, tags: [] });
    s.rollback();
    expect(s.get('a')).toEqual({ n: 3, tags: [] });
    expect(s.pending()).toEqual([]);
  });
});
