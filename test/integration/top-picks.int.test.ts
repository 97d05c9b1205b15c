import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vectorOf } from '../../models/embeddings/index.js';
import { trainAndAnnounceEmbeddings } from '../../processors/index.js';
import { createModelRegistry, latestAnnouncements, loadAnnouncedEmbeddings } from '../../registry/index.js';
import { createTypedProducer, type PlaylistEvent, type RecommendationList, type TypedProducer, type UserTasteEmbedding } from '../../streams/index.js';
import { readTopicToEnd } from '../helpers/kafka.js';
import { createTestBed, type TestBed } from '../helpers/services.js';

// Issue 10, part 5: `buddies trainer top-picks --once` on the real Kafka and registry. The world is what the live
// system would have published: playlists, announced track embeddings, tastes and pairings on their topics.

const DAY = 24 * 3_600_000;
const work = mkdtempSync(join(tmpdir(), 'buddies-top-picks-int-'));
const modelsDir = join(work, 'models');
const groupPrefix = `top-picks-${randomUUID().slice(0, 8)}`;
let bed: TestBed;
let producer: TypedProducer;

const env = () => ({ ...process.env, BUDDIES_TOPIC_PREFIX: bed.topics.prefix, BUDDIES_MODELS_DIR: modelsDir, BUDDIES_METRICS_PORT: '0' });
function buddies(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [join(bed.cfg.rootDir, 'bin/buddies.js'), ...args], { env: env(), timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** 4 communities of 20 tracks; curator c<k>-<j> made playlist pl-<k>-<j> of 8 tracks of community k. */
const COMMUNITIES = 4;
const playlists: PlaylistEvent[] = [];
for (let k = 0; k < COMMUNITIES; k++) {
  for (let j = 0; j < 6; j++) {
    const tracks = Array.from({ length: 8 }, (_, t) => `t${k}-${(j * 3 + t) % 20}`);
    playlists.push({
      eventId: randomUUID(), playlistId: `pl-${k}-${j}`, kind: 'CREATE', ownerId: `c${k}-${j}`, name: `community ${k} #${j}`,
      tracks, followers: 10 + j, organic: true, eventTime: Date.now() - 10 * DAY,
    });
  }
}
/** Listeners l0..l15 (listener i in community i % 4), active; l-old is inactive (its taste is 60 days old). */
const LISTENERS = Array.from({ length: 16 }, (_, i) => `l${i}`);

beforeAll(async () => {
  bed = await createTestBed(['playlists', 'tasteEmbeddings', 'pairings', 'modelAnnouncements', 'recommendations']);
  producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
  await producer.connect();
  await producer.send('playlists', playlists.map((p) => ({ key: p.playlistId, value: p })));
  // the embeddings the live recommender would have trained and announced at its first start
  await trainAndAnnounceEmbeddings({ kafka: bed.kafka, serde: bed.serde, registry: createModelRegistry(modelsDir), dims: 8, minCount: 1, seed: 3 });
  const announced = [...(await latestAnnouncements(bed.kafka, bed.serde)).values()].find((a) => a.kind === 'TRACK_EMBEDDINGS')!;
  const { embeddings } = await loadAnnouncedEmbeddings(announced);
  const now = Date.now();
  const tasteOf = (user: string, community: number, updatedAt: number, follows: string[]): UserTasteEmbedding => {
    const sum = new Array<number>(embeddings.dims).fill(0);
    for (let t = 0; t < 20; t++) vectorOf(embeddings, `t${community}-${t}`)?.forEach((x, d) => (sum[d]! += x));
    return { userId: user, vector: sum, mass: 5, eventCount: 20, embeddingVersion: announced.modelVersion, updatedAt, follows };
  };
  const tastes = LISTENERS.map((u, i) => tasteOf(u, i % COMMUNITIES, now - DAY, i === 0 ? ['pl-0-0'] : []));
  tastes.push(tasteOf('l-old', 1, now - 60 * DAY, []));
  await producer.send('tasteEmbeddings', tastes.map((t) => ({ key: t.userId, value: t })));
  // p-only has no taste in the topic yet but a recent pairing: active, and served popular playlists
  await producer.send('pairings', [{ key: 'p-only', value: { userId: 'p-only', buddies: [{ userId: 'c0-0', score: 0.5 }], modelVersion: 'knn-exact@x', updatedAt: now } }]);
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('buddies trainer top-picks on the real stack (issue 10)', () => {
  it('--once publishes one daily list per active user on the recommendation topic, marked as a daily pick', async () => {
    const r = await buddies('trainer', 'top-picks', '--once', '--group-prefix', groupPrefix, '--target-batch-ms', '50');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^17 daily lists for 17 active users \(1 popular, 0 canary\) in [\d.]+ s, \d+ batches, model buddies@emb:\S+\+bpr:none\n$/);
    expect(r.stderr).toMatch(/\[top-picks\] top picks: 17\/17 users, 17 lists/);

    const lists: RecommendationList[] = [];
    for (const m of await readTopicToEnd(bed.kafka, bed.topics.name('recommendations'))) {
      const list = await bed.serde.decode('recommendations', m.value!);
      expect(m.key?.toString()).toBe(list.userId);
      lists.push(list);
    }
    const byUser = new Map(lists.map((l) => [l.userId, l]));
    expect(lists).toHaveLength(17);
    expect([...byUser.keys()].sort()).toEqual([...LISTENERS, 'p-only'].sort());
    expect(byUser.has('l-old')).toBe(false);
    for (const l of lists) {
      expect(l.dailyPick).toBe(true);
      expect(l.items.length).toBeGreaterThan(0);
      expect(l.items.map((i) => i.rank)).toEqual(l.items.map((_, i) => i + 1));
      expect(l.items.every((i) => i.explanation.reason.startsWith("today's pick: "))).toBe(true);
    }
    // listeners are served by buddies of their own community, through the live ranking path
    for (const [i, u] of LISTENERS.entries()) {
      const l = byUser.get(u)!;
      expect(l.coldStart, u).toBe(false);
      // the top five come from the listener's community (it has six playlists; l0 follows one of them)
      const top = l.items.slice(0, 5).map((it) => it.playlistId);
      expect(top.every((p) => p.startsWith(`pl-${i % COMMUNITIES}-`)), `${u}: ${l.items.map((it) => it.playlistId).join(' ')}`).toBe(true);
    }
    // a followed playlist is not picked again; a user without a taste gets popular playlists
    expect(byUser.get('l0')!.items.map((i) => i.playlistId)).not.toContain('pl-0-0');
    expect(byUser.get('p-only')!.coldStart).toBe(true);
  }, 180_000);

  it('rejects a bad --cron with one line and exit 2', async () => {
    const r = await buddies('trainer', 'top-picks', '--cron', '0 6 * *');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cron: cron '0 6 \* \*' has 4 field\(s\); want 5/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
