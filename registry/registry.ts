import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveEmbeddings, type ItemEmbeddings } from '../models/embeddings/index.js';
import { createTypedProducer, type ModelAnnouncement, type ProducerOptions, type TypedProducer } from '../streams/index.js';
import {
  artifactFiles, checkArtifactFolder, checksumFile, inspectArtifact, kindFolder, MODEL_NAMES, ModelArtifactError, REGISTRY_KINDS, RegistryError,
  type FileChecksum, type RegistryKind,
} from './artifacts.js';

/**
 * Where a version stands in its lifecycle. `candidate`: published, not served; `canary`: served to a share of
 * the users beside production (one per kind, BPR only; registry/lifecycle.ts); `production`: the version
 * announced last for its kind (one at a time); `retired`: served once, replaced or rolled back since.
 */
export type ModelStatus = 'candidate' | 'canary' | 'production' | 'retired';

export const MODEL_STATUSES: readonly ModelStatus[] = ['candidate', 'canary', 'production', 'retired'];

/**
 * The status changes the registry allows: a candidate goes to canary or straight to production; a canary is
 * promoted (production) or rolled back (retired); production → retired happens when another version goes to
 * production; retired → production is a rollback to an earlier version (or an explicit promote).
 */
export const STATUS_TRANSITIONS: { readonly [S in ModelStatus]: readonly ModelStatus[] } = {
  candidate: ['canary', 'production', 'retired'],
  canary: ['production', 'retired'],
  production: ['retired'],
  retired: ['production'],
};

export interface StatusChange {
  readonly status: ModelStatus;
  /** ISO 8601. */
  readonly at: string;
}

/** What a model was trained on: where the data came from and, when known, its time range, size and hash. */
export interface DataWindow {
  /** A topic, file or table, e.g. `kafka:buddies.playlists.v1` or the interactions file. */
  readonly source: string;
  /** Earliest and latest event time in the training data (ISO 8601), null when the source has none. */
  readonly from: string | null;
  readonly to: string | null;
  /** Records (playlists, interactions) read. */
  readonly records?: number;
  /** Content hash of the data, when the trainer recorded one. */
  readonly hash?: string | null;
}

/** Facts about a version that its files do not hold, given by whoever publishes it. */
export interface PublishMeta {
  /** Training parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly dataWindow?: DataWindow | null;
  /** Offline metrics (the announcement carries them). */
  readonly metrics: Readonly<Record<string, number>>;
  /** The version this one was trained from or replaces (default none). */
  readonly parent?: string | null;
  /** What trained it, e.g. `cpu-wasm-simd`, `tfjs-tensorflow`. */
  readonly backend: string;
}

/** registry.json: the registry's manifest of one version, beside the artifact's own files. */
export interface RegistryRecord {
  readonly format: 'buddies-model-registry';
  readonly formatVersion: number;
  readonly kind: RegistryKind;
  /** The announcement's modelName (`track-embeddings`, `bpr`). */
  readonly modelName: string;
  readonly version: string;
  /** The version's folder relative to the registry root, `<kind>/<version>`: the object key prefix in a store. */
  readonly key: string;
  /** When it was published (ISO 8601). */
  readonly created: string;
  /** When it was trained (the artifact manifest's createdAt). */
  readonly trained: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly dataWindow: DataWindow | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly parent: string | null;
  readonly backend: string;
  /** sha256 and size of each artifact file, by name. */
  readonly files: Readonly<Record<string, FileChecksum>>;
  readonly status: ModelStatus;
  /** Every status the version has had, oldest first (the first is `candidate`). */
  readonly statusHistory: readonly StatusChange[];
}

/** A version as the registry hands it out: its record, its folder and its URI. */
export interface ModelVersion extends RegistryRecord {
  readonly dir: string;
  readonly uri: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** One line per file that is missing or does not match its checksum. */
  readonly problems: readonly string[];
}

/** Where {@link ModelRegistry.announce} writes: a connected producer of the caller's, or the clients to make one for this call. */
export type AnnounceTarget = TypedProducer | ProducerOptions;

/**
 * A versioned store of trained models under one root folder:
 * `<root>/<kind>/<version>/` holds the artifact's files and registry.json. Every path is a relative key
 * under the root, so an object store can hold the same layout later.
 */
export interface ModelRegistry {
  /** The root folder. */
  readonly dir: string;
  /**
   * Copies the saved model in `sourceDir` into the registry as a `candidate` and returns the version.
   * The version is the content's (embeddings: their content hash; BPR: a hash of its factor and id files),
   * so publishing the same content again returns the version already there, unchanged. Atomic: the files
   * and registry.json are written to a temporary folder under the root, then renamed into place.
   * Throws {@link RegistryError} when `sourceDir` is not a saved model of `kind`.
   */
  publish(kind: RegistryKind, sourceDir: string, meta: PublishMeta): Promise<ModelVersion>;
  /** Saves trained embeddings (models' saveEmbeddings) and publishes them. */
  publishEmbeddings(embeddings: ItemEmbeddings, meta: PublishMeta): Promise<ModelVersion>;
  /** Every version (of `kind`), newest first (by publication time, then version). */
  list(kind?: RegistryKind): Promise<ModelVersion[]>;
  /** One version, or undefined when the registry does not hold it. */
  get(kind: RegistryKind, version: string): Promise<ModelVersion | undefined>;
  /** The version of `kind` in production, if any. */
  production(kind: RegistryKind): Promise<ModelVersion | undefined>;
  /** Checks every file of a version against the sha256 in its registry.json. */
  verify(kind: RegistryKind, version: string): Promise<VerifyResult>;
  /** The `file://` URL of a version's folder (with a trailing slash), as announcements carry it. */
  artifactUri(kind: RegistryKind, version: string): string;
  /** Moves a version to `status` (see {@link STATUS_TRANSITIONS}; the same status is a no-op). */
  setStatus(kind: RegistryKind, version: string, status: ModelStatus): Promise<ModelVersion>;
  /** Puts a version in production and retires the one that was (a no-op when it already is). */
  markProduction(kind: RegistryKind, version: string): Promise<ModelVersion>;
  /**
   * Verifies a version, writes its {@link ModelAnnouncement} to the announcements topic (keyed by model
   * name, so the compacted topic keeps the latest per kind), then marks it `production`. Announcing the
   * version in production again re-sends the same record and changes nothing.
   */
  announce(target: AnnounceTarget, kind: RegistryKind, version: string): Promise<ModelAnnouncement>;
}

export const REGISTRY_FORMAT = 'buddies-model-registry';
export const REGISTRY_FORMAT_VERSION = 1;
/** The registry's manifest file in each version folder. */
export const RECORD_FILE = 'registry.json';
/** Temporary folders of publications in progress, under the root (skipped by list). */
const TMP = '.tmp';

export interface ModelRegistryOptions {
  /** The clock for `created` and status changes (tests). */
  readonly now?: () => Date;
}

const errno = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

/** Writes `path` through a temporary file and a rename, so a reader never sees half a file. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

const recordJson = (r: RegistryRecord): string => `${JSON.stringify(r, null, 2)}\n`;

/** The registry.json of the version folder `dir`, or undefined when there is none. */
export async function readRecord(dir: string): Promise<RegistryRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, RECORD_FILE), 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  let r: RegistryRecord;
  try {
    r = JSON.parse(text) as RegistryRecord;
  } catch (err) {
    throw new RegistryError(`${join(dir, RECORD_FILE)}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (r.format !== REGISTRY_FORMAT) throw new RegistryError(`${join(dir, RECORD_FILE)}: not a registry record (format ${JSON.stringify(r.format)})`);
  if (r.formatVersion !== REGISTRY_FORMAT_VERSION) throw new RegistryError(`${join(dir, RECORD_FILE)}: format version ${r.formatVersion}, expected ${REGISTRY_FORMAT_VERSION}`);
  return r;
}

/** Checks the files of the version folder `dir` against the checksums of its record. */
export async function verifyFolder(dir: string, record: RegistryRecord): Promise<VerifyResult> {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(record.files)) {
    const got = await checksumFile(join(dir, name)).catch((err: unknown) => {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (!got) problems.push(`${name} is missing`);
    else if (got.sha256 !== want.sha256 || got.bytes !== want.bytes) problems.push(`${name} does not match its sha256 checksum (changed or corrupted after publishing)`);
  }
  return { ok: problems.length === 0, problems };
}

/** The announcement of a version: what the live recommender reads to load it. */
export function announcementOf(v: ModelVersion): ModelAnnouncement {
  return {
    modelName: v.modelName,
    modelVersion: v.version,
    kind: v.kind,
    artifactUri: v.uri,
    backend: v.backend,
    metrics: { ...v.metrics },
    trainedAt: Date.parse(v.trained),
  };
}

function isProducer(t: AnnounceTarget): t is TypedProducer {
  return typeof (t as TypedProducer).send === 'function';
}

/** A model registry rooted at `dir` (created on the first publication; an absent root is an empty registry). */
export function createModelRegistry(dir: string, options: ModelRegistryOptions = {}): ModelRegistry {
  const root = resolve(dir);
  const now = options.now ?? (() => new Date());
  const keyOf = (kind: RegistryKind, version: string) => `${kindFolder(kind)}/${version}`;
  const dirOf = (kind: RegistryKind, version: string) => join(root, kindFolder(kind), version);
  const uriOf = (kind: RegistryKind, version: string) => `${pathToFileURL(dirOf(kind, version)).href}/`;
  const withPlace = (r: RegistryRecord): ModelVersion => ({ ...r, dir: dirOf(r.kind, r.version), uri: uriOf(r.kind, r.version) });

  function checkVersion(version: string): void {
    // a version is one path segment: it names a folder under the kind's
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(version)) throw new RegistryError(`'${version}' is not a model version`);
  }

  async function get(kind: RegistryKind, version: string): Promise<ModelVersion | undefined> {
    checkVersion(version);
    const r = await readRecord(dirOf(kind, version));
    return r ? withPlace(r) : undefined;
  }

  async function required(kind: RegistryKind, version: string): Promise<ModelVersion> {
    const v = await get(kind, version);
    if (!v) throw new RegistryError(`no ${MODEL_NAMES[kind]} version ${version} in the model registry ${root}`);
    return v;
  }

  async function list(kind?: RegistryKind): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    for (const k of kind ? [kind] : REGISTRY_KINDS) {
      const names = await readdir(join(root, kindFolder(k))).catch((err: unknown) => {
        if (errno(err) === 'ENOENT') return [] as string[];
        throw err;
      });
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const r = await readRecord(join(root, kindFolder(k), name));
        if (r) out.push(withPlace(r));
      }
    }
    return out.sort((a, b) => (a.created === b.created ? (a.version < b.version ? 1 : -1) : a.created < b.created ? 1 : -1));
  }

  async function setStatus(kind: RegistryKind, version: string, status: ModelStatus): Promise<ModelVersion> {
    const v = await required(kind, version);
    if (v.status === status) return v;
    if (!STATUS_TRANSITIONS[v.status].includes(status)) {
      throw new RegistryError(`${MODEL_NAMES[kind]} ${version} is ${v.status}: it cannot become ${status}`);
    }
    const { dir: vdir, uri: _uri, ...record } = v;
    const next: RegistryRecord = { ...record, status, statusHistory: [...v.statusHistory, { status, at: now().toISOString() }] };
    await writeAtomic(join(vdir, RECORD_FILE), recordJson(next));
    return withPlace(next);
  }

  async function markProduction(kind: RegistryKind, version: string): Promise<ModelVersion> {
    const v = await setStatus(kind, version, 'production');
    // promote first, then retire: a crash in between leaves two in production (resolved by `production`), never none
    for (const other of await list(kind)) if (other.version !== version && other.status === 'production') await setStatus(kind, other.version, 'retired');
    return v;
  }

  async function publish(kind: RegistryKind, sourceDir: string, meta: PublishMeta): Promise<ModelVersion> {
    const source = resolve(sourceDir);
    await checkArtifactFolder(kind, source);
    await mkdir(join(root, TMP), { recursive: true });
    const tmp = join(root, TMP, `${kindFolder(kind)}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
    try {
      // copy first, then checksum and load the copies: the version and checksums describe exactly the bytes kept
      const files: Record<string, FileChecksum> = {};
      for (const f of artifactFiles(kind)) {
        await copyFile(join(source, f), join(tmp, f));
        files[f] = await checksumFile(join(tmp, f));
      }
      const info = await inspectArtifact(kind, tmp, files, source);
      const existing = await get(kind, info.version);
      if (existing) return existing;
      const created = now().toISOString();
      const record: RegistryRecord = {
        format: REGISTRY_FORMAT,
        formatVersion: REGISTRY_FORMAT_VERSION,
        kind,
        modelName: MODEL_NAMES[kind],
        version: info.version,
        key: keyOf(kind, info.version),
        created,
        trained: info.trained,
        params: meta.params,
        dataWindow: meta.dataWindow ?? null,
        metrics: meta.metrics,
        parent: meta.parent ?? null,
        backend: meta.backend,
        files,
        status: 'candidate',
        statusHistory: [{ status: 'candidate', at: created }],
      };
      await writeFile(join(tmp, RECORD_FILE), recordJson(record));
      await mkdir(join(root, kindFolder(kind)), { recursive: true });
      try {
        await rename(tmp, dirOf(kind, info.version));
      } catch (err) {
        // another publisher of the same content won the rename: theirs is the version
        if (errno(err) !== 'ENOTEMPTY' && errno(err) !== 'EEXIST') throw err;
        const theirs = await get(kind, info.version);
        if (!theirs) throw new RegistryError(`${dirOf(kind, info.version)} exists but holds no ${RECORD_FILE}: move it away and publish again`);
        return theirs;
      }
      return withPlace(record);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  return {
    dir: root,
    publish,
    async publishEmbeddings(embeddings, meta) {
      await mkdir(join(root, TMP), { recursive: true });
      const saved = join(root, TMP, `save-${randomBytes(6).toString('hex')}`);
      try {
        await saveEmbeddings(embeddings, saved);
        return await publish('TRACK_EMBEDDINGS', saved, meta);
      } finally {
        await rm(saved, { recursive: true, force: true });
      }
    },
    list,
    get,
    async production(kind) {
      // one at a time; should two ever be (a crash between promoting one and retiring the other), the latest change wins
      const live = (await list(kind)).filter((v) => v.status === 'production');
      return live.sort((a, b) => (a.statusHistory.at(-1)!.at < b.statusHistory.at(-1)!.at ? 1 : -1))[0];
    },
    async verify(kind, version) {
      const v = await required(kind, version);
      return verifyFolder(v.dir, v);
    },
    artifactUri(kind, version) {
      checkVersion(version);
      return uriOf(kind, version);
    },
    setStatus,
    markProduction,
    async announce(target, kind, version) {
      const v = await required(kind, version);
      const check = await verifyFolder(v.dir, v);
      if (!check.ok) throw new ModelArtifactError(`model artifact ${v.uri}: ${check.problems.join('; ')}: not announced`);
      const announcement = announcementOf(v);
      const record = { key: announcement.modelName, value: announcement };
      if (isProducer(target)) {
        await target.send('modelAnnouncements', [record]);
      } else {
        const producer = createTypedProducer(target);
        await producer.connect();
        try {
          await producer.send('modelAnnouncements', [record]);
        } finally {
          await producer.disconnect();
        }
      }
      await markProduction(kind, version);
      return announcement;
    },
  };
}
