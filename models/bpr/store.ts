import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createIdMap } from '../interactions.js';
import { resolveBprOptions, type BprFactors, type BprManifest, type BprOptions, type ManifestExtra } from './types.js';

export const BPR_FORMAT_VERSION = 1;

/** A saved model that cannot be read back (missing files, wrong format, sizes that disagree). */
export class BprFormatError extends Error {
  override readonly name = 'BprFormatError';
}

function toBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

function fromBytes(b: Uint8Array): Float32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Layout of a saved model: manifest.json, user_factors.f32 and item_factors.f32 (little-endian float32,
 * rows × stride), users.json and items.json (the id maps, index order).
 */
export async function saveFactors(f: BprFactors, dir: string, params: BprOptions, backend: string, extra: ManifestExtra = {}): Promise<BprManifest> {
  await mkdir(dir, { recursive: true });
  const manifest: BprManifest = {
    ...extra,
    format: 'buddies-bpr',
    formatVersion: BPR_FORMAT_VERSION,
    factors: f.factors,
    itemBias: f.itemBias,
    stride: f.stride,
    numUsers: f.users.ids.length,
    numItems: f.items.ids.length,
    params,
    backend,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(dir, 'user_factors.f32'), toBytes(f.userFactors));
  await writeFile(join(dir, 'item_factors.f32'), toBytes(f.itemFactors));
  await writeFile(join(dir, 'users.json'), JSON.stringify(f.users.ids));
  await writeFile(join(dir, 'items.json'), JSON.stringify(f.items.ids));
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function loadFactors(dir: string): Promise<{ factors: BprFactors; manifest: BprManifest; params: BprOptions }> {
  let manifest: BprManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BprManifest;
  } catch (err) {
    throw new BprFormatError(`${dir}: cannot read manifest.json (${err instanceof Error ? err.message : String(err)})`);
  }
  if (manifest.format !== 'buddies-bpr') throw new BprFormatError(`${dir}: not a BPR model (format ${String(manifest.format)})`);
  if (manifest.formatVersion !== BPR_FORMAT_VERSION) throw new BprFormatError(`${dir}: format version ${manifest.formatVersion}, expected ${BPR_FORMAT_VERSION}`);
  const users = JSON.parse(await readFile(join(dir, 'users.json'), 'utf8')) as string[];
  const items = JSON.parse(await readFile(join(dir, 'items.json'), 'utf8')) as string[];
  const U = fromBytes(await readFile(join(dir, 'user_factors.f32')));
  const V = fromBytes(await readFile(join(dir, 'item_factors.f32')));
  const { stride } = manifest;
  if (users.length !== manifest.numUsers || U.length !== users.length * stride) throw new BprFormatError(`${dir}: user factors do not match ${manifest.numUsers} × ${stride}`);
  if (items.length !== manifest.numItems || V.length !== items.length * stride) throw new BprFormatError(`${dir}: item factors do not match ${manifest.numItems} × ${stride}`);
  if (stride !== manifest.factors + (manifest.itemBias ? 1 : 0)) throw new BprFormatError(`${dir}: stride ${stride} disagrees with factors and bias`);
  return {
    manifest,
    params: resolveBprOptions(manifest.params),
    factors: {
      factors: manifest.factors,
      itemBias: manifest.itemBias,
      stride,
      users: createIdMap(users),
      items: createIdMap(items),
      userFactors: U,
      itemFactors: V,
    },
  };
}
