import { expect, it } from 'vitest';
import type { RunStore } from '../../runs/index.js';

/** The RunStore contract, run against every implementation (memory, JSON lines, ClickHouse). */
export function runStoreContract(create: () => RunStore | Promise<RunStore>): void {
  it('records, lists oldest first with kind and limit filters, and gets by id or unique prefix', async () => {
    const store = await create();
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
}
