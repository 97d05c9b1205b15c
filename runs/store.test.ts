import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runStoreContract } from '../test/helpers/run-store-contract.js';
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

// the same contract the ClickHouse store passes in test/integration/run-store.int.test.ts
for (const s of STORES) describe(`RunStore (${s.name})`, () => runStoreContract(s.create));

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
