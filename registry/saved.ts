import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkArtifactFolder, EMBEDDINGS_BACKEND, type RegistryKind } from './artifacts.js';
import type { DataWindow, ModelRegistry, ModelVersion, PublishMeta } from './registry.js';

type Json = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The finite numbers of a JSON object (a manifest's metrics may hold anything). */
function numbers(v: unknown): Record<string, number> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/**
 * What a saved model's own manifest.json says about it, as registry metadata. A BPR model saved by
 * `buddies offline train-bpr` records its parameters, metrics, backend and data file (path, hash, interactions);
 * saved embeddings record their method, size and trainer parameters.
 */
function metaOf(kind: RegistryKind, m: Json): Omit<PublishMeta, 'parent'> {
  if (kind === 'BPR') {
    const dataWindow: DataWindow | null = typeof m.dataPath === 'string'
      ? {
        source: m.dataPath, from: null, to: null,
        ...(typeof m.interactions === 'number' ? { records: m.interactions } : {}),
        hash: typeof m.dataHash === 'string' ? m.dataHash : null,
      }
      : null;
    return { params: isObject(m.params) ? m.params : {}, metrics: numbers(m.metrics), backend: typeof m.backend === 'string' ? m.backend : 'unknown', dataWindow };
  }
  const params = isObject(m.params) ? m.params : {};
  return {
    params: { method: m.method, dims: m.dims, ...params },
    metrics: numbers({ items: m.numItems, dims: m.dims, baskets: params.baskets, trainSeconds: params.seconds }),
    backend: EMBEDDINGS_BACKEND,
    dataWindow: null,
  };
}

/**
 * Publishes a model folder written by the models' own store (`saveFactors`, e.g. `buddies offline train-bpr
 * --out DIR`; `saveEmbeddings`), with the parameters, metrics, backend and data its manifest records. The
 * parent is the version of the kind in production, if any. Throws the registry's one-line errors for a
 * folder that is not a saved model of `kind`.
 */
export async function publishSavedModel(registry: ModelRegistry, kind: RegistryKind, dir: string): Promise<ModelVersion> {
  const source = resolve(dir);
  await checkArtifactFolder(kind, source);
  const manifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8')) as Json;
  const parent = await registry.production(kind);
  return registry.publish(kind, source, { ...metaOf(kind, manifest), parent: parent?.version ?? null });
}
