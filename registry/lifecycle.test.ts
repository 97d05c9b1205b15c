import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../models/bpr/index.js';
import { createIdMap } from '../models/interactions.js';
import type { ModelAnnouncement } from '../streams/index.js';
import {
  CANARY_SHARE_METRIC, CANARY_STARTED_METRIC, canaryOf, currentCanary, promote, rollback, startCanary, type AnnouncementLog, type AnnouncementRecord, type LifecycleDeps,
} from './lifecycle.js';
import { createModelRegistry, type ModelRegistry } from './registry.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifecycle-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A compacted topic in memory: every record written, and the latest value per key (a tombstone removes it). */
function memoryLog(fail?: () => Error | undefined): AnnouncementLog & { written: AnnouncementRecord[][] } {
  const latest = new Map<string, ModelAnnouncement>();
  const written: AnnouncementRecord[][] = [];
  return {
    written,
    latest: async () => new Map(latest),
    async write(records) {
      const err = fail?.();
      if (err) throw err;
      written.push([...records]);
      for (const r of records) {
        if (r.value === null) latest.delete(r.key);
        else latest.set(r.key, r.value);
      }
    },
  };
}

async function savedBpr(name: string, shift: number): Promise<string> {
  const dir = join(work, name);
  const stride = 3;
  await saveFactors(
    {
      factors: 2, itemBias: true, stride, users: createIdMap(['u1', 'u2']), items: createIdMap(['p1', 'p2', 'p3']),
      userFactors: Float32Array.from({ length: 2 * stride }, (_, i) => 0.1 * (i + shift)),
      itemFactors: Float32Array.from({ length: 3 * stride }, (_, i) => 0.2 * (i - shift)),
    },
    dir, { ...DEFAULT_BPR_OPTIONS, factors: 2 }, 'cpu-js', { metrics: { trainAuc: 0.9 } },
  );
  return dir;
}

/** A registry with three BPR versions, the first announced to production through the log. */
async function setup(): Promise<{ deps: LifecycleDeps; log: ReturnType<typeof memoryLog>; registry: ModelRegistry; v: string[] }> {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const registry = createModelRegistry(join(work, 'models'), { now: () => new Date((t += 1000)) });
  const log = memoryLog();
  const v: string[] = [];
  for (const i of [1, 2, 3]) v.push((await registry.publish('BPR', await savedBpr(`b${i}`, i), { params: {}, metrics: { trainAuc: 0.9 }, backend: 'cpu-js' })).version);
  const deps: LifecycleDeps = { registry, announcements: log, now: () => 5_000 };
  await promote(deps, 'BPR', v[0]);
  log.written.length = 0;
  return { deps, log, registry, v };
}

const statusOf = async (r: ModelRegistry, version: string) => (await r.get('BPR', version))!.status;

describe('canary, promote and rollback (issue 10)', () => {
  it('starts a canary on bpr@canary with its share and start time, and changes its share without restarting it', async () => {
    const { deps, log, registry, v } = await setup();
    const c = await startCanary(deps, 'BPR', v[1]!, 0.2);
    expect(c).toMatchObject({ version: v[1], share: 0.2, startedAt: 5_000 });
    expect(log.written).toHaveLength(1);
    const [rec] = log.written[0]!;
    expect(rec!.key).toBe('bpr@canary');
    expect(rec!.value).toMatchObject({ modelName: 'bpr@canary', modelVersion: v[1], kind: 'BPR', metrics: { trainAuc: 0.9, [CANARY_SHARE_METRIC]: 0.2, [CANARY_STARTED_METRIC]: 5_000 } });
    expect(canaryOf(rec!.value!)).toMatchObject({ version: v[1], share: 0.2, startedAt: 5_000 });
    expect(await statusOf(registry, v[1]!)).toBe('canary');
    expect(await statusOf(registry, v[0]!)).toBe('production');
    // the same canary with another share keeps its start
    const again = await startCanary({ ...deps, now: () => 9_000 }, 'BPR', v[1]!, 0.5);
    expect(again).toMatchObject({ share: 0.5, startedAt: 5_000 });
    expect(canaryOf((await log.latest()).get('bpr@canary'))?.share).toBe(0.5);
  });

  it('refuses a second canary, a bad share, track embeddings, a retired version and a canary with nothing in production', async () => {
    const { deps, registry, v } = await setup();
    await startCanary(deps, 'BPR', v[1]!, 0.1);
    await expect(startCanary(deps, 'BPR', v[2]!, 0.1)).rejects.toThrow(`bpr ${v[1]} is in canary: promote it or roll it back first`);
    await expect(startCanary(deps, 'BPR', v[1]!, 1)).rejects.toThrow('a canary share is between 0 and 1 (exclusive), got 1');
    await expect(startCanary(deps, 'TRACK_EMBEDDINGS', 'abc', 0.1)).rejects.toThrow('only bpr models can run as a canary, not track-embeddings');
    await expect(startCanary(deps, 'BPR', 'feedfeedfeedfeed', 0.1)).rejects.toThrow(/no bpr version feedfeedfeedfeed/);
    await rollback(deps, 'BPR');
    await expect(startCanary(deps, 'BPR', v[1]!, 0.1)).rejects.toThrow(`bpr ${v[1]} is retired: only a candidate can start a canary`);
    const empty: LifecycleDeps = { registry: createModelRegistry(join(work, 'other')), announcements: memoryLog() };
    const only = (await empty.registry.publish('BPR', await savedBpr('x', 7), { params: {}, metrics: {}, backend: 'cpu-js' })).version;
    await expect(startCanary(empty, 'BPR', only, 0.1)).rejects.toThrow('no bpr in production to compare a canary with: promote a version first');
    expect(await statusOf(registry, v[2]!)).toBe('candidate');
  });

  it('promotes the canary: production announced and the canary ended in one write; statuses follow', async () => {
    const { deps, log, registry, v } = await setup();
    await startCanary(deps, 'BPR', v[1]!, 0.3);
    log.written.length = 0;
    const r = await promote(deps, 'BPR');
    expect(r).toMatchObject({ replaced: v[0], fromCanary: true });
    expect(r.promoted.version).toBe(v[1]);
    expect(log.written).toHaveLength(1);
    expect(log.written[0]!.map((x) => [x.key, x.value?.modelVersion ?? null])).toEqual([['bpr', v[1]], ['bpr@canary', null]]);
    expect((await log.latest()).has('bpr@canary')).toBe(false);
    expect(await statusOf(registry, v[1]!)).toBe('production');
    expect(await statusOf(registry, v[0]!)).toBe('retired');
    await expect(promote(deps, 'BPR')).rejects.toThrow('no bpr canary to promote: give the VERSION to promote');
  });

  it('refuses to promote another version while a canary runs', async () => {
    const { deps, v } = await setup();
    await startCanary(deps, 'BPR', v[1]!, 0.3);
    await expect(promote(deps, 'BPR', v[2])).rejects.toThrow(`bpr ${v[1]} is in canary: promote it or roll it back first`);
  });

  it('rolls back a canary (tombstone, canary retired, production untouched), then production to the version before it', async () => {
    const { deps, log, registry, v } = await setup();
    await startCanary(deps, 'BPR', v[1]!, 0.3);
    log.written.length = 0;
    expect(await rollback(deps, 'BPR')).toEqual({ what: 'canary', from: v[1], to: v[0] });
    expect(log.written).toEqual([[{ key: 'bpr@canary', value: null }]]);
    expect(await statusOf(registry, v[1]!)).toBe('retired');
    expect(await statusOf(registry, v[0]!)).toBe('production');
    // a straight promotion, then a rollback of production goes back to v0
    await promote(deps, 'BPR', v[2]);
    expect((await log.latest()).get('bpr')?.modelVersion).toBe(v[2]);
    expect(await rollback(deps, 'BPR')).toEqual({ what: 'production', from: v[2], to: v[0] });
    expect((await log.latest()).get('bpr')?.modelVersion).toBe(v[0]);
    expect(await statusOf(registry, v[2]!)).toBe('retired');
    expect(await statusOf(registry, v[0]!)).toBe('production');
    // a version rolled back out of canary was never production: it is not a rollback target
    expect((await registry.get('BPR', v[1]!))!.statusHistory.map((s) => s.status)).toEqual(['candidate', 'canary', 'retired']);
  });

  it('allows the canary transitions of STATUS_TRANSITIONS and no others', async () => {
    const { registry, v } = await setup();
    await expect(registry.setStatus('BPR', v[0]!, 'canary')).rejects.toThrow(`bpr ${v[0]} is production: it cannot become canary`);
    expect((await registry.setStatus('BPR', v[1]!, 'canary')).status).toBe('canary');
    await expect(registry.setStatus('BPR', v[1]!, 'candidate')).rejects.toThrow(`bpr ${v[1]} is canary: it cannot become candidate`);
    expect((await registry.setStatus('BPR', v[1]!, 'retired')).status).toBe('retired');
    await expect(registry.setStatus('BPR', v[1]!, 'canary')).rejects.toThrow(/retired: it cannot become canary/);
  });

  it('has nothing to roll back to with one version ever in production', async () => {
    const { deps, v } = await setup();
    await expect(rollback(deps, 'BPR')).rejects.toThrow(`bpr ${v[0]} is the first version in production: there is no earlier one to roll back to`);
  });

  it('a failed write changes no status; running the step again finishes it', async () => {
    const { registry, v } = await setup();
    let down = true;
    const log = memoryLog(() => (down ? new Error('broker gone') : undefined));
    const deps: LifecycleDeps = { registry, announcements: log };
    await expect(startCanary(deps, 'BPR', v[1]!, 0.2)).rejects.toThrow('broker gone');
    expect(await statusOf(registry, v[1]!)).toBe('candidate');
    down = false;
    await startCanary(deps, 'BPR', v[1]!, 0.2);
    expect((await currentCanary(deps, 'BPR')).announced?.version).toBe(v[1]);
    // the canary's end announced, the status not yet changed (a crash): rollback finishes it
    await log.write([{ key: 'bpr@canary', value: null }]);
    expect(await currentCanary(deps, 'BPR')).toMatchObject({ marked: { version: v[1] } });
    expect(await rollback(deps, 'BPR')).toMatchObject({ what: 'canary', from: v[1] });
    expect(await statusOf(registry, v[1]!)).toBe('retired');
  });
});
