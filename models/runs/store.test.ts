import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFile } from './provenance.js';
import { createJsonlRunStore, createMemoryRunStore, newRunId, RunStoreError, type RunStore } from './store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const STORES: ReadonlyArray<{ name: string; create: () => RunStore }> = [
  { name: 'memory', create: () => createMemoryRunStore() },
  { name: 'jsonl', create: () => createJsonlRunStore(join(dir, 'nested', 'runs.jsonl')) },
];

for (const s of STORES) {
  describe(`RunStore (${s.name})`, () => {
    it('records, lists oldest first with kind and limit filters, and gets by id or unique prefix', async () => {
      const store = s.create();
      expect(await store.list()).toEqual([]);
      const a = await store.record({ kind: 'train', startedAt: '2025-01-01T00:00:00Z', params: { factors: 64 }, metrics: { auc: 0.9 }, dataHash: 'h1' });
      const b = await store.record({ id: 'fixed-id-1', kind: 'eval', startedAt: '2025-01-02T00:00:00Z', params: {}, metrics: { 'ndcg@10': 0.3 } });
      const c = await store.record({ kind: 'eval', startedAt: '2025-01-03T00:00:00Z', params: {}, metrics: {} });
      expect(a.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
      expect((await store.list()).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
      expect((await store.list({ kind: 'eval' })).map((r) => r.id)).toEqual([b.id, c.id]);
      expect((await store.list({ limit: 1 })).map((r) => r.id)).toEqual([c.id]);
      expect(await store.get('fixed-id-1')).toEqual(b);
      expect(await store.get('fixed-id')).toEqual(b);
      expect(await store.get('nope')).toBeUndefined();
    });
  });
}

describe('JSON-lines run file', () => {
  it('persists across instances and reports a malformed line with its number', async () => {
    const path = join(dir, 'runs.jsonl');
    await createJsonlRunStore(path).record({ kind: 'train', startedAt: 'x', params: {}, metrics: {} });
    expect(await createJsonlRunStore(path).list()).toHaveLength(1);
    await writeFile(path, '{"id":"a","kind":"train","startedAt":"x","params":{},"metrics":{}}\n{oops\n');
    await expect(createJsonlRunStore(path).list()).rejects.toThrow(RunStoreError);
    await expect(createJsonlRunStore(path).list()).rejects.toThrow(/runs.jsonl:2/);
  });

  it('ids sort by time', () => {
    expect(newRunId(new Date('2025-03-04T05:06:07Z'))).toMatch(/^20250304-050607-/);
  });

  it('hashFile changes with the content', async () => {
    const p = join(dir, 'f');
    await writeFile(p, 'abc');
    const h1 = await hashFile(p);
    expect(h1).toBe('ba7816bf8f01cfea'); // sha256("abc")
    await writeFile(p, 'abd');
    expect(await hashFile(p)).not.toBe(h1);
  });
});
