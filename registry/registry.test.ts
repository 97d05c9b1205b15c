import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BPR_OPTIONS, saveFactors } from '../models/bpr/index.js';
import { saveEmbeddings, vocabularyFromIds, type ItemEmbeddings } from '../models/embeddings/index.js';
import { createIdMap } from '../models/interactions.js';
import type { ModelAnnouncement, OutRecord, TypedProducer } from '../streams/index.js';
import { artifactDir, ModelArtifactError, NotASavedModelError, RegistryError, WrongKindError } from './artifacts.js';
import { loadAnnouncedBpr, loadAnnouncedEmbeddings } from './announcements.js';
import { announcementOf, createModelRegistry, type PublishMeta } from './registry.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'registry-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Three tracks in `dims` dimensions; `shift` changes the vectors (another version). */
function embeddings(shift = 0, dims = 4): ItemEmbeddings {
  const ids = ['t:a', 't:b', 't:c'];
  const vectors = Float32Array.from({ length: ids.length * dims }, (_, i) => Math.sin(i + 1 + shift));
  return { method: 'ppmi-svd', dims, vocabulary: vocabularyFromIds(ids, Int32Array.from([3, 2, 2])), vectors, params: { seed: 1 } };
}

async function savedEmbeddings(name: string, shift = 0): Promise<string> {
  const dir = join(work, name);
  await saveEmbeddings(embeddings(shift), dir);
  return dir;
}

/** A 2-user × 3-playlist BPR model with 2 factors and an item bias. */
async function savedBpr(name: string, shift = 0, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = join(work, name);
  const stride = 3;
  await saveFactors(
    {
      factors: 2, itemBias: true, stride,
      users: createIdMap(['u1', 'u2']), items: createIdMap(['p1', 'p2', 'p3']),
      userFactors: Float32Array.from({ length: 2 * stride }, (_, i) => (i % stride === 2 ? 1 : 0.1 * (i + shift))),
      itemFactors: Float32Array.from({ length: 3 * stride }, (_, i) => 0.2 * (i - shift)),
    },
    dir, { ...DEFAULT_BPR_OPTIONS, factors: 2 }, 'cpu-js', { metrics: { trainAuc: 0.9 }, ...extra },
  );
  return dir;
}

const META: PublishMeta = { params: { dims: 4 }, metrics: { items: 3 }, backend: 'cpu-js' };

/** A producer that keeps what it is sent (or fails, when told to). */
function recordingProducer(fail?: Error): TypedProducer & { sent: Array<{ topic: string; records: ReadonlyArray<OutRecord<'modelAnnouncements'>> }> } {
  const sent: Array<{ topic: string; records: ReadonlyArray<OutRecord<'modelAnnouncements'>> }> = [];
  return {
    sent,
    connect: async () => {},
    disconnect: async () => {},
    async send(topic, records) {
      if (fail) throw fail;
      sent.push({ topic, records: records as ReadonlyArray<OutRecord<'modelAnnouncements'>> });
      return [];
    },
  };
}

/** A clock that moves one second per call. */
function ticking(start = Date.parse('2026-01-01T00:00:00Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('publish', () => {
  it('copies the artifact files into <root>/track_embeddings/<version>/ with registry.json, as a candidate', async () => {
    const source = await savedEmbeddings('emb');
    await writeFile(join(source, 'notes.txt'), 'not part of the model');
    const sourceManifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8'));
    const reg = createModelRegistry(join(work, 'models'));
    const v = await reg.publish('TRACK_EMBEDDINGS', source, { ...META, dataWindow: { source: 'kafka:playlists', from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', records: 3 }, parent: 'abc' });

    expect(v.version).toBe(sourceManifest.version);
    expect(v.dir).toBe(join(work, 'models', 'track_embeddings', v.version));
    expect((await readdir(v.dir)).sort()).toEqual(['counts.json', 'ids.json', 'manifest.json', 'registry.json', 'vectors.f32']);
    const record = JSON.parse(await readFile(join(v.dir, 'registry.json'), 'utf8'));
    expect(record).toMatchObject({
      format: 'buddies-model-registry', kind: 'TRACK_EMBEDDINGS', modelName: 'track-embeddings', version: v.version, key: `track_embeddings/${v.version}`,
      trained: sourceManifest.createdAt, params: { dims: 4 }, metrics: { items: 3 }, parent: 'abc', backend: 'cpu-js', status: 'candidate',
      dataWindow: { source: 'kafka:playlists', records: 3 },
    });
    expect(record.statusHistory).toEqual([{ status: 'candidate', at: record.created }]);
    for (const f of ['manifest.json', 'vectors.f32', 'ids.json', 'counts.json']) {
      expect(record.files[f].sha256).toBe(await sha256(join(source, f)));
    }
    expect(await readdir(join(work, 'models', '.tmp'))).toEqual([]);
  });

  it('is idempotent: the same content is one version, whichever folder or save it comes from', async () => {
    const reg = createModelRegistry(join(work, 'models'), { now: ticking() });
    const first = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('a'), META);
    const again = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('a'), { ...META, metrics: { items: 99 } });
    const resaved = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('b'), META); // same vectors, another createdAt
    expect(again).toEqual(first);
    expect(resaved).toEqual(first);
    expect((await reg.list()).map((v) => v.version)).toEqual([first.version]);
    const other = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('c', 1), META);
    expect(other.version).not.toBe(first.version);
  });

  it('two publishers of the same content at once get the one version that won the rename', async () => {
    const reg = createModelRegistry(join(work, 'models'), { now: ticking() }); // each publisher its own created time
    const source = await savedBpr('b');
    const results = await Promise.all(Array.from({ length: 4 }, () => reg.publish('BPR', source, META)));
    expect(new Set(results.map((v) => v.created)).size).toBe(1);
    expect((await reg.list()).map((v) => v.version)).toEqual([results[0]!.version]);
    expect(await readdir(join(work, 'models', '.tmp'))).toEqual([]);
  });

  it('versions a BPR model by the content of its factor and id files, not by its manifest', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const a = await reg.publish('BPR', await savedBpr('a'), META);
    const sameFactors = await reg.publish('BPR', await savedBpr('b', 0, { note: 'another manifest' }), META);
    const other = await reg.publish('BPR', await savedBpr('c', 1), META);
    expect(a.version).toMatch(/^[0-9a-f]{16}$/);
    expect(sameFactors.version).toBe(a.version);
    expect(other.version).not.toBe(a.version);
    expect(a.dir).toBe(join(work, 'models', 'bpr', a.version));
    expect(Object.keys(a.files).sort()).toEqual(['item_factors.f32', 'items.json', 'manifest.json', 'user_factors.f32', 'users.json']);
  });

  it('refuses a folder that is not a saved model of the kind, in one line, leaving nothing behind', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    await expect(reg.publish('BPR', join(work, 'nope'), META)).rejects.toThrow(new NotASavedModelError(`${join(work, 'nope')}: no such folder`));
    await writeFile(join(work, 'file'), 'x');
    await expect(reg.publish('BPR', join(work, 'file'), META)).rejects.toThrow(/is not a folder/);
    await mkdir(join(work, 'empty'));
    await expect(reg.publish('BPR', join(work, 'empty'), META)).rejects.toThrow(`${join(work, 'empty')} is not a saved model (no manifest.json)`);
    const emb = await savedEmbeddings('emb');
    const wrong = await reg.publish('BPR', emb, META).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(WrongKindError);
    expect(wrong).toMatchObject({ expected: 'BPR', found: 'TRACK_EMBEDDINGS', message: `${emb} holds track embeddings, not a BPR model` });
    const bpr = await savedBpr('bpr');
    await unlink(join(bpr, 'items.json'));
    await expect(reg.publish('BPR', bpr, META)).rejects.toThrow(`${bpr} is not a complete saved model: items.json missing`);
    // present but inconsistent: the models' loader says why
    const broken = await savedEmbeddings('broken');
    await writeFile(join(broken, 'ids.json'), '["t:a"]');
    await expect(reg.publish('TRACK_EMBEDDINGS', broken, META)).rejects.toThrow(/not readable as track embeddings: .*sizes do not match/);
    expect(await readdir(join(work, 'models', '.tmp'))).toEqual([]);
    expect(await reg.list()).toEqual([]);
  });

  it('publishes trained embeddings directly (saved through the models store)', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const v = await reg.publishEmbeddings(embeddings(), META);
    const loaded = await loadAnnouncedEmbeddings(announcementOf(v));
    expect(Array.from(loaded.embeddings.vectors)).toEqual(Array.from(embeddings().vectors));
    expect(await readdir(join(work, 'models', '.tmp'))).toEqual([]);
  });
});

describe('list, get and verify', () => {
  it('lists newest first, all kinds or one, and skips unfinished publications', async () => {
    const reg = createModelRegistry(join(work, 'models'), { now: ticking() });
    const e1 = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e1', 1), META);
    const b1 = await reg.publish('BPR', await savedBpr('b1', 1), META);
    const e2 = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e2', 2), META);
    // a crashed publication leaves a temporary folder, and a half-copied folder has no registry.json
    await mkdir(join(work, 'models', '.tmp', 'track_embeddings-dead'), { recursive: true });
    await mkdir(join(work, 'models', 'bpr', 'half'), { recursive: true });
    expect((await reg.list()).map((v) => v.version)).toEqual([e2.version, b1.version, e1.version]);
    expect((await reg.list('TRACK_EMBEDDINGS')).map((v) => v.version)).toEqual([e2.version, e1.version]);
    expect((await reg.list('BPR')).map((v) => v.kind)).toEqual(['BPR']);
    expect(await createModelRegistry(join(work, 'never-created')).list()).toEqual([]);
    // a folder in the way of a version, without registry.json: named, with what to do
    await rm(e1.dir, { recursive: true });
    await mkdir(e1.dir);
    await writeFile(join(e1.dir, 'stray'), '');
    await expect(reg.publish('TRACK_EMBEDDINGS', join(work, 'e1'), META)).rejects.toThrow(`${e1.dir} exists but holds no registry.json: move it away and publish again`);
    await rm(e1.dir, { recursive: true });
    await writeFile(join(work, 'models', 'bpr', 'half', 'registry.json'), '{"format":');
    await expect(reg.list()).rejects.toThrow(`${join(work, 'models', 'bpr', 'half', 'registry.json')}: not valid JSON`);
    expect(await reg.get('BPR', b1.version)).toEqual(b1);
    expect(await reg.get('BPR', e1.version)).toBeUndefined();
    await expect(reg.get('BPR', '../escape')).rejects.toThrow(RegistryError);
  });

  it('verify catches a flipped byte and a missing file, and passes again once restored', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const v = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e'), META);
    expect(await reg.verify('TRACK_EMBEDDINGS', v.version)).toEqual({ ok: true, problems: [] });
    const path = join(v.dir, 'vectors.f32');
    const good = await readFile(path);
    const bad = Buffer.from(good);
    bad[5]! ^= 0x01;
    await writeFile(path, bad);
    expect(await reg.verify('TRACK_EMBEDDINGS', v.version)).toEqual({ ok: false, problems: ['vectors.f32 does not match its sha256 checksum (changed or corrupted after publishing)'] });
    await writeFile(path, good);
    expect((await reg.verify('TRACK_EMBEDDINGS', v.version)).ok).toBe(true);
    await unlink(join(v.dir, 'ids.json'));
    expect(await reg.verify('TRACK_EMBEDDINGS', v.version)).toEqual({ ok: false, problems: ['ids.json is missing'] });
    await expect(reg.verify('BPR', v.version)).rejects.toThrow(`no bpr version ${v.version} in the model registry`);
  });
});

describe('status and announcements', () => {
  it('announce writes the announcement keyed by model name and puts the version in production, retiring the previous one', async () => {
    const reg = createModelRegistry(join(work, 'models'), { now: ticking() });
    const producer = recordingProducer();
    const v1 = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e1', 1), META);
    const v2 = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e2', 2), META);
    const bpr = await reg.publish('BPR', await savedBpr('b'), { ...META, metrics: { trainAuc: 0.9 }, backend: 'cpu-wasm-simd' });

    const a1 = await reg.announce(producer, 'TRACK_EMBEDDINGS', v1.version);
    expect(a1).toEqual<ModelAnnouncement>({
      modelName: 'track-embeddings', modelVersion: v1.version, kind: 'TRACK_EMBEDDINGS', artifactUri: reg.artifactUri('TRACK_EMBEDDINGS', v1.version),
      backend: 'cpu-js', metrics: { items: 3 }, trainedAt: Date.parse(v1.trained),
    });
    expect(producer.sent).toEqual([{ topic: 'modelAnnouncements', records: [{ key: 'track-embeddings', value: a1 }] }]);
    expect((await reg.get('TRACK_EMBEDDINGS', v1.version))!.status).toBe('production');
    await reg.announce(producer, 'BPR', bpr.version);

    await reg.announce(producer, 'TRACK_EMBEDDINGS', v2.version);
    const statuses = async () => Object.fromEntries((await reg.list()).map((v) => [v.version, v.status]));
    expect(await statuses()).toEqual({ [v1.version]: 'retired', [v2.version]: 'production', [bpr.version]: 'production' });
    expect((await reg.get('TRACK_EMBEDDINGS', v1.version))!.statusHistory.map((s) => s.status)).toEqual(['candidate', 'production', 'retired']);
    expect((await reg.production('TRACK_EMBEDDINGS'))!.version).toBe(v2.version);

    // announcing the version in production again re-sends the record and changes no status
    const before = await reg.get('TRACK_EMBEDDINGS', v2.version);
    await reg.announce(producer, 'TRACK_EMBEDDINGS', v2.version);
    expect(await reg.get('TRACK_EMBEDDINGS', v2.version)).toEqual(before);
    expect(producer.sent).toHaveLength(4);

    // a rollback: the retired version goes back to production, the current one is retired
    await reg.markProduction('TRACK_EMBEDDINGS', v1.version);
    expect(await statuses()).toEqual({ [v1.version]: 'production', [v2.version]: 'retired', [bpr.version]: 'production' });
  });

  it('allows only the lifecycle transitions', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const v = await reg.publish('BPR', await savedBpr('b'), META);
    await reg.markProduction('BPR', v.version);
    await expect(reg.setStatus('BPR', v.version, 'candidate')).rejects.toThrow(`bpr ${v.version} is production: it cannot become candidate`);
    expect((await reg.setStatus('BPR', v.version, 'production')).status).toBe('production'); // same status: no-op
    expect((await reg.setStatus('BPR', v.version, 'retired')).status).toBe('retired');
    await expect(reg.setStatus('BPR', v.version, 'candidate')).rejects.toThrow(/retired: it cannot become candidate/);
    expect(await reg.production('BPR')).toBeUndefined();
  });

  it('a failed send changes no status; a corrupted version is not announced', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const v = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e'), META);
    await expect(reg.announce(recordingProducer(new Error('broker gone')), 'TRACK_EMBEDDINGS', v.version)).rejects.toThrow('broker gone');
    expect((await reg.get('TRACK_EMBEDDINGS', v.version))!.status).toBe('candidate');
    await writeFile(join(v.dir, 'counts.json'), '[9,9,9]');
    const producer = recordingProducer();
    await expect(reg.announce(producer, 'TRACK_EMBEDDINGS', v.version)).rejects.toThrow(`model artifact ${v.uri}: counts.json does not match its sha256 checksum (changed or corrupted after publishing): not announced`);
    expect(producer.sent).toEqual([]);
    await expect(reg.announce(producer, 'BPR', 'feedfeedfeedfeed')).rejects.toThrow(/no bpr version feedfeedfeedfeed/);
  });
});

describe('artifact URIs and loading announced models', () => {
  it('round-trips a version folder through its file:// URI, spaces and all', async () => {
    const reg = createModelRegistry(join(work, 'models with spaces'));
    const v = await reg.publish('BPR', await savedBpr('b'), META);
    const uri = reg.artifactUri('BPR', v.version);
    expect(uri).toBe(v.uri);
    expect(uri).toMatch(/^file:\/\/\/.*models%20with%20spaces\/bpr\/[0-9a-f]{16}\/$/);
    expect(artifactDir(uri)).toBe(v.dir);
    expect(artifactDir(uri.slice(0, -1))).toBe(v.dir);
    expect(() => artifactDir(`s3://bucket/${v.key}/`)).toThrow(new ModelArtifactError(`model artifact s3://bucket/${v.key}/: only file:// artifacts can be loaded (scheme s3:)`));
  });

  it('loads announced embeddings and BPR factors with the models loaders', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const e = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e'), META);
    const b = await reg.publish('BPR', await savedBpr('b'), META);
    const emb = await loadAnnouncedEmbeddings(announcementOf(e));
    expect(emb.embeddings.vocabulary.ids).toEqual(['t:a', 't:b', 't:c']);
    expect(Array.from(emb.embeddings.vectors)).toEqual(Array.from(embeddings().vectors));
    expect(emb.record.version).toBe(e.version);
    const bpr = await loadAnnouncedBpr(announcementOf(b));
    expect(bpr.factors.items.ids).toEqual(['p1', 'p2', 'p3']);
    expect(bpr.factors.users.indexOf('u2')).toBe(1);
    expect(bpr.params.factors).toBe(2);
  });

  it('names the URI and what is wrong when an announced artifact cannot be used', async () => {
    const reg = createModelRegistry(join(work, 'models'));
    const e = await reg.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e'), META);
    const a = announcementOf(e);
    await expect(loadAnnouncedBpr(a)).rejects.toThrow(`model artifact ${a.artifactUri}: announced as TRACK_EMBEDDINGS, expected BPR`);
    await expect(loadAnnouncedEmbeddings({ ...a, modelVersion: 'other' })).rejects.toThrow(`model artifact ${a.artifactUri}: holds TRACK_EMBEDDINGS ${e.version}, the announcement says TRACK_EMBEDDINGS other`);
    const gone = { ...a, artifactUri: `file://${join(work, 'elsewhere')}/` };
    await expect(loadAnnouncedEmbeddings(gone)).rejects.toThrow(`model artifact ${gone.artifactUri}: registry.json is missing`);
    await unlink(join(e.dir, 'vectors.f32'));
    const err = await loadAnnouncedEmbeddings(a).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelArtifactError);
    expect((err as Error).message).toBe(`model artifact ${a.artifactUri}: vectors.f32 is missing`);
  });
});
