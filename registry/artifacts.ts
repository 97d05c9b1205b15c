import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFactors } from '../models/bpr/index.js';
import { loadEmbeddings } from '../models/embeddings/index.js';

/** The kinds of model the registry holds (the `ModelKind` symbols of the announcement schema it can publish). */
export type RegistryKind = 'TRACK_EMBEDDINGS' | 'BPR';

export const REGISTRY_KINDS: readonly RegistryKind[] = ['TRACK_EMBEDDINGS', 'BPR'];

/** The announcement's `modelName` (its Kafka key) of each kind: one compacted record per name. */
export const MODEL_NAMES: { readonly [K in RegistryKind]: string } = { TRACK_EMBEDDINGS: 'track-embeddings', BPR: 'bpr' };

/** The kind announced under `modelName`, or undefined for a name the registry does not publish. */
export function kindOfModelName(modelName: string): RegistryKind | undefined {
  return REGISTRY_KINDS.find((k) => MODEL_NAMES[k] === modelName);
}

/** The backend recorded for track embeddings: their trainer runs in plain JavaScript on the CPU. */
export const EMBEDDINGS_BACKEND = 'cpu-js';

/** The folder of a kind under the registry root: the kind in lower case (`track_embeddings`, `bpr`). */
export function kindFolder(kind: RegistryKind): string {
  return kind.toLowerCase();
}

/** Bad input to the registry: a folder that is not a saved model, an unknown version, a status change it does not allow. */
export class RegistryError extends Error {
  override readonly name: string = 'RegistryError';
}

/** A folder given to publish is not a saved model of the kind: missing, not a folder, incomplete or unreadable. */
export class NotASavedModelError extends RegistryError {
  override readonly name: string = 'NotASavedModelError';
}

/** A folder holds a saved model of another kind than the one asked for. */
export class WrongKindError extends NotASavedModelError {
  override readonly name = 'WrongKindError';
  constructor(readonly dir: string, readonly expected: RegistryKind, readonly found: RegistryKind) {
    super(`${dir} holds ${ARTIFACTS[found].what}, not ${ARTIFACTS[expected].what}`);
  }
}

/** A published or announced artifact that cannot be used: a missing file, a checksum that does not match, a URI it cannot resolve. */
export class ModelArtifactError extends Error {
  override readonly name = 'ModelArtifactError';
}

/** sha256 and size of one file of a version. */
export interface FileChecksum {
  readonly sha256: string;
  readonly bytes: number;
}

/** What a valid artifact folder says about itself, read by {@link inspectArtifact}. */
export interface ArtifactInfo {
  /** Content version: the embeddings' own content hash; for BPR a hash of the factor and id files. */
  readonly version: string;
  /** When it was trained (the artifact manifest's createdAt, ISO 8601). */
  readonly trained: string;
  /** The artifact's own manifest.json. */
  readonly manifest: Readonly<Record<string, unknown>>;
}

interface ArtifactSpec {
  /** manifest.json's `format` of a saved model of this kind. */
  readonly format: string;
  /** The files a saved model of this kind consists of (what the registry copies; anything else is left behind). */
  readonly files: readonly string[];
  /** The kind in words, for messages. */
  readonly what: string;
  /** Loads the folder with the models' own loader (format, sizes, content hash) and returns its version. */
  inspect(dir: string, checksums: Readonly<Record<string, FileChecksum>>): Promise<ArtifactInfo>;
}

/** The hash of the listed files' checksums: a content version that ignores manifest fields such as createdAt. */
function versionOf(names: readonly string[], checksums: Readonly<Record<string, FileChecksum>>): string {
  const h = createHash('sha256');
  for (const n of names) h.update(`${n}\0${checksums[n]!.sha256}\n`);
  return h.digest('hex').slice(0, 16);
}

const BPR_DATA = ['user_factors.f32', 'item_factors.f32', 'users.json', 'items.json'];

const ARTIFACTS: { readonly [K in RegistryKind]: ArtifactSpec } = {
  TRACK_EMBEDDINGS: {
    format: 'buddies-item-embeddings',
    files: ['manifest.json', 'vectors.f32', 'ids.json', 'counts.json'],
    what: 'track embeddings',
    async inspect(dir) {
      const { manifest } = await loadEmbeddings(dir);
      return { version: manifest.version, trained: manifest.createdAt, manifest: { ...manifest } };
    },
  },
  BPR: {
    format: 'buddies-bpr',
    files: ['manifest.json', ...BPR_DATA],
    what: 'a BPR model',
    async inspect(dir, checksums) {
      const { manifest } = await loadFactors(dir);
      return { version: versionOf(BPR_DATA, checksums), trained: manifest.createdAt, manifest: { ...manifest } };
    },
  },
};

/** The files a saved model of `kind` consists of. */
export function artifactFiles(kind: RegistryKind): readonly string[] {
  return ARTIFACTS[kind].files;
}

/** The kind in words (`track embeddings`, `a BPR model`). */
export function kindInWords(kind: RegistryKind): string {
  return ARTIFACTS[kind].what;
}

/** sha256 and size of a file, streamed (factor files can be large). */
export async function checksumFile(path: string): Promise<FileChecksum> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

const errno = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Checks that `dir` is a saved model of `kind` before anything is copied: the folder exists, its
 * manifest.json names the kind's format (a model of the other kind is a {@link WrongKindError}) and
 * every file of the kind is there. Throws {@link NotASavedModelError} with one line saying what is wrong.
 */
export async function checkArtifactFolder(kind: RegistryKind, dir: string): Promise<void> {
  const spec = ARTIFACTS[kind];
  const st = await stat(dir).catch((err: unknown) => {
    if (errno(err) === 'ENOENT') throw new NotASavedModelError(`${dir}: no such folder`);
    throw new NotASavedModelError(`${dir}: ${message(err)}`);
  });
  if (!st.isDirectory()) throw new NotASavedModelError(`${dir} is not a folder (give the folder the model was saved to)`);
  let format: unknown;
  try {
    format = (JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { format?: unknown }).format;
  } catch (err) {
    if (errno(err) === 'ENOENT') throw new NotASavedModelError(`${dir} is not a saved model (no manifest.json)`);
    throw new NotASavedModelError(`${dir}/manifest.json: ${message(err)}`);
  }
  if (format !== spec.format) {
    const found = REGISTRY_KINDS.find((k) => ARTIFACTS[k].format === format);
    if (found) throw new WrongKindError(dir, kind, found);
    throw new NotASavedModelError(`${dir} is not ${spec.what} (manifest.json format ${JSON.stringify(format)}, expected ${spec.format})`);
  }
  const missing: string[] = [];
  for (const f of spec.files) {
    const s = await stat(join(dir, f)).catch(() => undefined);
    if (!s?.isFile()) missing.push(f);
  }
  if (missing.length > 0) throw new NotASavedModelError(`${dir} is not a complete saved model: ${missing.join(', ')} missing`);
}

/** Loads the artifact in `dir` with the models' loader and returns its version; a load failure is a {@link NotASavedModelError}. */
export async function inspectArtifact(kind: RegistryKind, dir: string, checksums: Readonly<Record<string, FileChecksum>>, label = dir): Promise<ArtifactInfo> {
  try {
    return await ARTIFACTS[kind].inspect(dir, checksums);
  } catch (err) {
    throw new NotASavedModelError(`${label}: not readable as ${ARTIFACTS[kind].what}: ${message(err)}`);
  }
}

/**
 * The local folder of a `file://` artifact URI (with or without a trailing slash). Other schemes are a
 * {@link ModelArtifactError}: the layout is one an object store can hold, but only local folders load today.
 */
export function artifactDir(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ModelArtifactError(`model artifact ${uri}: not a URI`);
  }
  if (url.protocol !== 'file:') throw new ModelArtifactError(`model artifact ${uri}: only file:// artifacts can be loaded (scheme ${url.protocol})`);
  return fileURLToPath(url).replace(/(.)\/+$/, '$1');
}
