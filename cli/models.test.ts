import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/index.js';
import { saveEmbeddings, vocabularyFromIds } from '../models/embeddings/index.js';
import { createModelRegistry } from '../registry/index.js';
import { InputError, UsageError, type CommandContext } from './command.js';
import { describeFailure } from './failure.js';
import { modelsCommand } from './models.js';

let work: string;
let ctx: CommandContext;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'cli-models-'));
  ctx = { config: { ...loadConfig({}), modelsDir: join(work, 'models') }, verbose: false };
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(work, { recursive: true, force: true });
});

/** Runs `buddies models ARGS` in-process; returns the exit code and what it printed. */
async function models(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await modelsCommand.run(args, ctx), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function savedEmbeddings(name: string, first: number): Promise<string> {
  const dir = join(work, name);
  await saveEmbeddings({ method: 'ppmi-svd', dims: 2, vocabulary: vocabularyFromIds(['t1', 't2'], Int32Array.of(3, 2)), vectors: Float32Array.of(first, 0, 0, 1), params: { baskets: 4, seconds: 0.25 } }, dir);
  return dir;
}

describe('buddies models', () => {
  it('lists the subcommands in its help', async () => {
    const r = await models('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: buddies models <subcommand>/);
    for (const sub of ['list', 'publish', 'train-embeddings']) expect(r.stdout).toMatch(new RegExp(`\\n  ${sub} +\\S`));
    expect((await models('publish', '--help')).stdout).toMatch(/usage: buddies models publish DIR --kind track-embeddings\|bpr/);
  });

  it('list says how to publish when the registry is empty, and shows versions newest first with status and metrics', async () => {
    const empty = await models('list');
    expect(empty).toEqual({
      code: 0, stdout: '',
      stderr: `no models in ${ctx.config.modelsDir}: publish one with 'buddies models train-embeddings' or 'buddies models publish DIR --kind bpr'\n`,
    });
    let t = Date.parse('2026-03-01T00:00:00Z');
    const registry = createModelRegistry(ctx.config.modelsDir, { now: () => new Date((t += 60_000)) });
    const meta = { params: {}, metrics: { items: 2, trackCoverage: 0.123456 }, backend: 'cpu-js' };
    const older = await registry.publish('TRACK_EMBEDDINGS', await savedEmbeddings('a', 1), meta);
    const newer = await registry.publish('TRACK_EMBEDDINGS', await savedEmbeddings('b', -1), meta);
    await registry.markProduction('TRACK_EMBEDDINGS', older.version);

    const r = await models('list');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'KIND              VERSION           STATUS      CREATED                   METRICS',
      `track-embeddings  ${newer.version}  candidate   2026-03-01T00:02:00.000Z  items=2 trackCoverage=0.1235`,
      `track-embeddings  ${older.version}  production  2026-03-01T00:01:00.000Z  items=2 trackCoverage=0.1235`,
      '',
    ]);
    const json = (await models('list', '--json', '--kind', 'track-embeddings')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json.map((m) => [m.version, m.status, m.uri])).toEqual([[newer.version, 'candidate', newer.uri], [older.version, 'production', older.uri]]);
    expect((await models('list', '--kind', 'bpr')).stderr).toMatch(/^no bpr models in /);
  });

  it('answers a bad flag or argument with a usage error', async () => {
    await expect(models('list', '--kind', 'pairing')).rejects.toThrow(new UsageError("list: --kind must be one of track-embeddings, bpr, got 'pairing'"));
    await expect(models('list', 'extra')).rejects.toThrow(/list: unexpected argument 'extra'/);
    await expect(models('publish', '--kind', 'bpr')).rejects.toThrow(/publish: give the model folder/);
    await expect(models('publish', work)).rejects.toThrow(/publish: --kind is required \(track-embeddings or bpr\)/);
    await expect(models('train-embeddings', '--method', 'ppmi')).rejects.toThrow(/train-embeddings: --method must be one of ppmi-svd, sgns/);
    await expect(models('train-embeddings', '--dims', '0')).rejects.toThrow(UsageError);
    await expect(models('retrain')).rejects.toThrow(/unknown subcommand 'retrain'/);
  });

  // Issue 10: canary, promote and rollback.
  it('lists canary, promote and rollback in its help, with their own', async () => {
    const r = await models('--help');
    for (const sub of ['canary', 'promote', 'rollback']) expect(r.stdout).toMatch(new RegExp(`\\n  ${sub} +\\S`));
    expect((await models('canary', '--help')).stdout).toMatch(/^usage: buddies models canary VERSION \[--share S\]/);
    expect((await models('promote', '--help')).stdout).toMatch(/^usage: buddies models promote \[VERSION\]/);
    expect((await models('rollback', '--help')).stdout).toMatch(/^usage: buddies models rollback \[--kind/);
  });

  it('canary, promote and rollback answer bad input in one line before asking any service', async () => {
    ctx = { ...ctx, config: { ...ctx.config, kafka: { ...ctx.config.kafka, brokers: ['127.0.0.1:1'] }, registry: { ...ctx.config.registry, url: 'http://127.0.0.1:1/apis/ccompat/v7' } } };
    await expect(models('canary')).rejects.toThrow(/canary: give the BPR version to canary: buddies models canary VERSION --share S/);
    await expect(models('canary', 'abc', '--share', '1.5')).rejects.toThrow(UsageError);
    await expect(models('canary', 'abc', '--share', '0')).rejects.toThrow(/--share must be between 0 and 1 \(exclusive\)/);
    await expect(models('rollback', 'extra')).rejects.toThrow(/rollback: unexpected argument 'extra'/);
    await expect(models('rollback', '--kind', 'pairing')).rejects.toThrow(UsageError);
    await expect(models('promote', 'feedfeedfeedfeed')).rejects.toThrow(new InputError(`no model version feedfeedfeedfeed in the model registry ${ctx.config.modelsDir} (buddies models list shows them)`));
    // a known version: the service is asked, and its absence is one line
    const registry = createModelRegistry(ctx.config.modelsDir);
    const v = await registry.publish('TRACK_EMBEDDINGS', await savedEmbeddings('e', 1), { params: {}, metrics: {}, backend: 'cpu-js' });
    const err = await models('promote', v.version).catch((e: unknown) => e);
    expect(describeFailure(err, ctx.config).line).toMatch(/not reachable/);
    expect((await registry.get('TRACK_EMBEDDINGS', v.version))!.status).toBe('candidate');
  });

  it('publish answers a folder that is not a saved model in one line saying what to do, before touching any service', async () => {
    // the configured services are unreachable: a folder error must come first
    ctx = { ...ctx, config: { ...ctx.config, kafka: { ...ctx.config.kafka, brokers: ['127.0.0.1:1'] }, registry: { ...ctx.config.registry, url: 'http://127.0.0.1:1/apis/ccompat/v7' } } };
    const missing = join(work, 'nope');
    await expect(models('publish', missing, '--kind', 'bpr')).rejects.toThrow(
      new InputError(`${missing}: no such folder (give the folder a model was saved to, e.g. by 'buddies offline train-bpr --out DIR')`),
    );
    await mkdir(join(work, 'empty'));
    await expect(models('publish', join(work, 'empty'), '--kind', 'bpr')).rejects.toThrow(`${join(work, 'empty')} is not a saved model (no manifest.json)`);
    const emb = await savedEmbeddings('emb', 1);
    const wrong = await models('publish', emb, '--kind', 'bpr').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(InputError);
    expect(describeFailure(wrong, ctx.config)).toEqual({ line: `${emb} holds track embeddings, not a BPR model: use --kind track-embeddings`, expected: true });
    expect(await createModelRegistry(ctx.config.modelsDir).list()).toEqual([]);
  });

  it('publish names BUDDIES_MODELS_DIR when the registry cannot be written, and keeps the version when a service is down', async () => {
    const down = { ...ctx.config, registry: { ...ctx.config.registry, url: 'http://127.0.0.1:1/apis/ccompat/v7', external: true } };
    const emb = await savedEmbeddings('emb', 1);
    await writeFile(join(work, 'a-file'), '');
    ctx = { ...ctx, config: { ...down, modelsDir: join(work, 'a-file', 'models') } };
    await expect(models('publish', emb, '--kind', 'track-embeddings')).rejects.toThrow(
      new InputError(`cannot make the folder ${join(work, 'a-file', 'models')} (ENOTDIR): set BUDDIES_MODELS_DIR to a writable folder`),
    );
    await expect(models('list')).rejects.toThrow(/^cannot use the model registry at .* \(ENOTDIR\)/);

    ctx = { ...ctx, config: { ...down, modelsDir: join(work, 'models') } };
    const err = await models('publish', emb, '--kind', 'track-embeddings').catch((e: unknown) => e);
    expect(describeFailure(err, ctx.config)).toEqual({ line: 'The schema registry at 127.0.0.1:1 is not reachable: check SCHEMA_REGISTRY_URL', expected: true });
    // published as a candidate: running the command again once the services answer announces it
    expect((await createModelRegistry(ctx.config.modelsDir).list()).map((v) => v.status)).toEqual(['candidate']);
  });
});
