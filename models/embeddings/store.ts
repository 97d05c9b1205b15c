import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMBEDDINGS_FORMAT_VERSION, type ItemEmbeddings } from './embeddings.js';
import { vocabularyFromIds } from './vocabulary.js';

/** manifest.json beside vectors.f32 (little-endian float32, items × dims) and ids.json. */
export interface EmbeddingsManifest {
  readonly format: 'buddies-item-embeddings';
  readonly formatVersion: number;
  /** Content hash of ids and vectors: the embeddings' version, recorded by whoever uses them. */
  readonly version: string;
  readonly method: string;
  readonly dims: number;
  readonly numItems: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export class EmbeddingsFormatError extends Error {
  override readonly name = 'EmbeddingsFormatError';
}

function contentVersion(idsJson: string, bytes: Uint8Array): string {
  return createHash('sha256').update(idsJson).update(bytes).digest('hex').slice(0, 16);
}

function vectorBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

/** Writes the embeddings to `dir` (created if needed); returns the manifest. */
export async function saveEmbeddings(emb: ItemEmbeddings, dir: string): Promise<EmbeddingsManifest> {
  await mkdir(dir, { recursive: true });
  const idsJson = JSON.stringify(emb.vocabulary.ids);
  const counts = JSON.stringify([...emb.vocabulary.counts]);
  const bytes = vectorBytes(emb.vectors);
  const manifest: EmbeddingsManifest = {
    format: 'buddies-item-embeddings',
    formatVersion: EMBEDDINGS_FORMAT_VERSION,
    version: contentVersion(idsJson, bytes),
    method: emb.method,
    dims: emb.dims,
    numItems: emb.vocabulary.ids.length,
    params: emb.params,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(dir, 'vectors.f32'), bytes);
  await writeFile(join(dir, 'ids.json'), idsJson);
  await writeFile(join(dir, 'counts.json'), counts);
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads embeddings written by {@link saveEmbeddings}, checking format, sizes and content hash. */
export async function loadEmbeddings(dir: string): Promise<{ embeddings: ItemEmbeddings; manifest: EmbeddingsManifest }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as EmbeddingsManifest;
  if (manifest.format !== 'buddies-item-embeddings') throw new EmbeddingsFormatError(`${dir}: not item embeddings`);
  if (manifest.formatVersion !== EMBEDDINGS_FORMAT_VERSION) {
    throw new EmbeddingsFormatError(`${dir}: format version ${manifest.formatVersion}, expected ${EMBEDDINGS_FORMAT_VERSION}`);
  }
  const idsJson = await readFile(join(dir, 'ids.json'), 'utf8');
  const ids = JSON.parse(idsJson) as string[];
  const counts = Int32Array.from(JSON.parse(await readFile(join(dir, 'counts.json'), 'utf8')) as number[]);
  const raw = new Uint8Array(await readFile(join(dir, 'vectors.f32')));
  if (ids.length !== manifest.numItems || raw.length !== manifest.numItems * manifest.dims * 4) {
    throw new EmbeddingsFormatError(`${dir}: sizes do not match the manifest`);
  }
  if (contentVersion(idsJson, raw) !== manifest.version) throw new EmbeddingsFormatError(`${dir}: content hash mismatch`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const vectors = new Float32Array(raw.length / 4);
  for (let i = 0; i < vectors.length; i++) vectors[i] = view.getFloat32(i * 4, true);
  return {
    embeddings: { method: manifest.method, dims: manifest.dims, vocabulary: vocabularyFromIds(ids, counts), vectors, params: manifest.params },
    manifest,
  };
}
