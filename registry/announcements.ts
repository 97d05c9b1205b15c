import type { Kafka } from 'kafkajs';
import { loadFactors, type BprFactors, type BprManifest, type BprOptions } from '../models/bpr/index.js';
import { loadEmbeddings, type EmbeddingsManifest, type ItemEmbeddings } from '../models/embeddings/index.js';
import { readTopicSnapshot, type AvroSerde, type ModelAnnouncement } from '../streams/index.js';
import { artifactDir, ModelArtifactError, type RegistryKind } from './artifacts.js';
import { readRecord, verifyFolder, type RegistryRecord } from './registry.js';

/** Announced track embeddings, loaded and checked. */
export interface AnnouncedEmbeddings {
  readonly embeddings: ItemEmbeddings;
  readonly manifest: EmbeddingsManifest;
  /** The version's registry.json. */
  readonly record: RegistryRecord;
}

/** An announced BPR model, loaded and checked (for the live ranker its items are playlist ids). */
export interface AnnouncedBpr {
  readonly factors: BprFactors;
  readonly manifest: BprManifest;
  readonly params: BprOptions;
  readonly record: RegistryRecord;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The folder of an announced version, checked: the announcement is of `kind`, the folder holds a
 * registry.json of that kind and version, and every file matches its sha256. Throws
 * {@link ModelArtifactError} naming the URI and what is wrong.
 */
async function verifiedFolder(a: ModelAnnouncement, kind: RegistryKind): Promise<{ dir: string; record: RegistryRecord }> {
  const uri = a.artifactUri;
  if (a.kind !== kind) throw new ModelArtifactError(`model artifact ${uri}: announced as ${a.kind}, expected ${kind}`);
  const dir = artifactDir(uri);
  let record: RegistryRecord | undefined;
  try {
    record = await readRecord(dir);
  } catch (err) {
    throw new ModelArtifactError(`model artifact ${uri}: registry.json is unreadable: ${message(err)}`);
  }
  if (!record) throw new ModelArtifactError(`model artifact ${uri}: registry.json is missing (the folder is gone, or was not published by the model registry)`);
  if (record.kind !== kind || record.version !== a.modelVersion) {
    throw new ModelArtifactError(`model artifact ${uri}: holds ${record.kind} ${record.version}, the announcement says ${a.kind} ${a.modelVersion}`);
  }
  const check = await verifyFolder(dir, record);
  if (!check.ok) throw new ModelArtifactError(`model artifact ${uri}: ${check.problems.join('; ')}`);
  return { dir, record };
}

/** Loads the track embeddings an announcement points to (models' loadEmbeddings), after checking every file's checksum. */
export async function loadAnnouncedEmbeddings(a: ModelAnnouncement): Promise<AnnouncedEmbeddings> {
  const { dir, record } = await verifiedFolder(a, 'TRACK_EMBEDDINGS');
  try {
    const { embeddings, manifest } = await loadEmbeddings(dir);
    return { embeddings, manifest, record };
  } catch (err) {
    throw new ModelArtifactError(`model artifact ${a.artifactUri}: ${message(err)}`);
  }
}

/** Loads the BPR factors an announcement points to (models' loadFactors), after checking every file's checksum. */
export async function loadAnnouncedBpr(a: ModelAnnouncement): Promise<AnnouncedBpr> {
  const { dir, record } = await verifiedFolder(a, 'BPR');
  try {
    const { factors, manifest, params } = await loadFactors(dir);
    return { factors, manifest, params, record };
  } catch (err) {
    throw new ModelArtifactError(`model artifact ${a.artifactUri}: ${message(err)}`);
  }
}

/**
 * The latest announcement of each model name on the announcements topic (`serde.topics` gives its name),
 * read to the end offsets it has now: what a process loads at start before it follows new ones. A
 * tombstone removes the name; announcements of a kind this reader does not know (`UNKNOWN`) are skipped.
 */
export async function latestAnnouncements(kafka: Kafka, serde: AvroSerde, opts: { readonly timeoutMs?: number } = {}): Promise<Map<string, ModelAnnouncement>> {
  const topic = serde.topics.name('modelAnnouncements');
  const latest = new Map<string, ModelAnnouncement>();
  for (const m of await readTopicSnapshot(kafka, topic, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs })) {
    const key = m.key?.toString();
    if (m.value === null) {
      if (key !== undefined) latest.delete(key);
      continue;
    }
    const a = await serde.decode('modelAnnouncements', m.value);
    if (a.kind === 'UNKNOWN') continue;
    latest.set(key ?? a.modelName, a);
  }
  return latest;
}
