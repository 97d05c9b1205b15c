import { DEFAULT_EMBEDDING_OPTIONS, EMBEDDING_METHODS } from '../models/embeddings/index.js';
import { EmptyPlaylistTableError, LIVE_EMBEDDING_DIMS, trainAndAnnounceEmbeddings } from '../processors/index.js';
import {
  checkArtifactFolder, createAnnouncementLog, createModelRegistry, kindOfModelName, MODEL_NAMES, ModelArtifactError, NotASavedModelError, promote, publishSavedModel, RegistryError,
  REGISTRY_KINDS, rollback, startCanary, WrongKindError, type LifecycleDeps, type ModelRegistry, type ModelVersion, type RegistryKind,
} from '../registry/index.js';
import { connectStreams, requireTopics } from '../streams/index.js';
import { InputError, UsageError, type Command, type CommandContext } from './command.js';
import { createDispatcher, type Subcommand } from './dispatch.js';
import { choiceFlag, intFlag, numberFlag, parseFlagsAndArgs } from './flags.js';
import { makeDirs } from './dirs.js';

const KIND_NAMES = REGISTRY_KINDS.map((k) => MODEL_NAMES[k]);
const E = DEFAULT_EMBEDDING_OPTIONS;

const log = (line: string): void => void process.stderr.write(`[models] ${line}\n`);

function kindFlag(v: string | undefined, required: boolean): RegistryKind | undefined {
  if (v === undefined && !required) return undefined;
  return kindOfModelName(choiceFlag('kind', v, KIND_NAMES));
}

function noExtra(positionals: readonly string[], from = 0): void {
  if (positionals.length > from) throw new UsageError(`unexpected argument '${positionals[from]}'`);
}

const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR']);

/** The registry's one-line errors as input errors, with what to do (`registryDir`: the registry in use). */
function asInputError(err: unknown, registryDir?: string): never {
  if (err instanceof WrongKindError) throw new InputError(`${err.message}: use --kind ${MODEL_NAMES[err.found]}`);
  if (err instanceof NotASavedModelError) throw new InputError(`${err.message} (give the folder a model was saved to, e.g. by 'buddies offline train-bpr --out DIR')`);
  if (err instanceof RegistryError || err instanceof ModelArtifactError) throw new InputError(err.message);
  const code = (err as { code?: unknown } | null)?.code;
  if (registryDir !== undefined && typeof code === 'string' && UNWRITABLE.has(code)) {
    throw new InputError(`cannot use the model registry at ${registryDir} (${code}): set BUDDIES_MODELS_DIR to a writable folder`);
  }
  throw err;
}

/** The clients to announce with: the announcements topic must exist (and `also`). */
async function announcer(ctx: CommandContext, also: Array<'playlists'> = []) {
  const clients = await connectStreams(ctx.config, { role: 'models', keys: ['modelAnnouncements', ...also] });
  await requireTopics(clients.kafka, clients.topics, ['modelAnnouncements', ...also]);
  return clients;
}

function formatMetrics(m: Readonly<Record<string, number>>): string {
  return Object.entries(m).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`).join(' ');
}

/** The line printed on stdout for a version: what scripts read. */
const versionLine = (v: ModelVersion): string => `${v.modelName} ${v.version} ${v.status} ${v.uri}\n`;

const registryOf = (ctx: CommandContext): ModelRegistry => createModelRegistry(ctx.config.modelsDir);

/** The registry, for a command that writes to it: its folder made first (a wrong one answered before any work). */
async function writableRegistryOf(ctx: CommandContext): Promise<ModelRegistry> {
  await makeDirs(ctx.config.modelsDir, 'set BUDDIES_MODELS_DIR to a writable folder');
  return registryOf(ctx);
}

const LIST_HELP = `usage: buddies models list [--kind K] [--json]

The versions in the model registry (BUDDIES_MODELS_DIR), newest first: kind, version, status (candidate,
canary, production, retired), when published, and the offline metrics.

  --kind K   only ${KIND_NAMES.join(' or ')}
  --json     one JSON record per line (registry.json, with dir and uri)

Exit: 0 ok (an empty registry too), 2 bad flags.`;

export const modelsListCommand: Command = {
  summary: 'list the versions in the model registry',
  help: LIST_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, { kind: { type: 'string' }, json: { type: 'boolean', default: false } });
    noExtra(positionals);
    const kind = kindFlag(v.kind, false);
    const versions = await registryOf(ctx).list(kind).catch((err: unknown) => asInputError(err, ctx.config.modelsDir));
    if (v.json) {
      for (const m of versions) process.stdout.write(`${JSON.stringify(m)}\n`);
      return 0;
    }
    if (versions.length === 0) {
      process.stderr.write(`no ${kind ? `${MODEL_NAMES[kind]} ` : ''}models in ${ctx.config.modelsDir}: publish one with 'buddies models train-embeddings' or 'buddies models publish DIR --kind bpr'\n`);
      return 0;
    }
    const rows = [['KIND', 'VERSION', 'STATUS', 'CREATED', 'METRICS'], ...versions.map((m) => [m.modelName, m.version, m.status, m.created, formatMetrics(m.metrics)])];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join('  ').trimEnd()}\n`);
    return 0;
  },
};

const PUBLISH_HELP = `usage: buddies models publish DIR --kind ${KIND_NAMES.join('|')}

Publishes a saved model folder into the model registry (BUDDIES_MODELS_DIR) and announces it: the files are
copied to <registry>/<kind>/<version>/ with registry.json (parameters, metrics, data, parent, sha256 of each
file), the announcement goes to the model announcements topic, and the version becomes production (the one
before it retired). DIR is what 'buddies offline train-bpr --out DIR' wrote (--kind bpr), or saved track
embeddings (--kind track-embeddings). The same content published again is the same version.
Prints '<model> <version> production <uri>' on stdout.

  --kind K   ${KIND_NAMES.join(' or ')}

Needs Kafka, the registry and the announcements topic (buddies topics ensure).
Exit: 0 ok, 1 not a saved model or a service down, 2 bad flags.`;

export const modelsPublishCommand: Command = {
  summary: 'publish a saved model folder and announce it',
  help: PUBLISH_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, { kind: { type: 'string' } });
    const [dir] = positionals;
    if (dir === undefined) throw new UsageError('give the model folder: buddies models publish DIR --kind K');
    noExtra(positionals, 1);
    const kind = kindFlag(v.kind, true)!;
    const registry = await writableRegistryOf(ctx);
    // the folder first: a wrong one is answered without waiting on any service, and nothing is written
    await checkArtifactFolder(kind, dir).catch(asInputError);
    // published (a candidate) before any service is asked: should Kafka be down, running it again announces the same version
    const published = await publishSavedModel(registry, kind, dir).catch((err: unknown) => asInputError(err, registry.dir));
    log(`published ${published.modelName} ${published.version} at ${published.uri}`);
    const { kafka, serde } = await announcer(ctx);
    await registry.announce({ kafka, serde }, kind, published.version).catch((err: unknown) => asInputError(err, registry.dir));
    log(`announced ${published.modelName} ${published.version}: now in production`);
    process.stdout.write(versionLine((await registry.get(kind, published.version)) ?? published));
    return 0;
  },
};

const TRAIN_HELP = `usage: buddies models train-embeddings [--dims D] [--method M] [--min-count N] [--seed S]

Reads the playlist table (the playlists topic, folded to the latest state of each playlist), learns track
embeddings from the organic playlists' track lists with the live recommender's trainer and options,
publishes them into the model registry (BUDDIES_MODELS_DIR) and announces them (they become production).
The trainer is seeded: the same playlists and options give the same version. Progress goes to stderr;
prints 'track-embeddings <version> production <uri>' on stdout.

  --dims D         embedding size (default ${LIVE_EMBEDDING_DIMS}, the live recommender's)
  --method M       ${EMBEDDING_METHODS.join(' or ')} (default ${E.method})
  --min-count N    tracks in fewer playlists get no embedding (default ${E.minCount})
  --seed S         training seed (default ${E.seed})

Needs Kafka, the registry, the playlists and announcements topics (buddies topics ensure) and some
playlists (buddies import mpd DIR).
Exit: 0 ok, 1 no playlists or a service down, 2 bad flags.`;

export const modelsTrainEmbeddingsCommand: Command = {
  summary: 'train track embeddings from the playlist table, publish and announce them',
  help: TRAIN_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, {
      dims: { type: 'string' }, method: { type: 'string' }, 'min-count': { type: 'string' }, seed: { type: 'string' },
    });
    noExtra(positionals);
    const dims = intFlag('dims', v.dims, LIVE_EMBEDDING_DIMS);
    const method = choiceFlag('method', v.method, EMBEDDING_METHODS, E.method);
    const minCount = intFlag('min-count', v['min-count'], E.minCount);
    const seed = intFlag('seed', v.seed, E.seed, -(2 ** 31));
    const registry = await writableRegistryOf(ctx);
    const clients = await announcer(ctx, ['playlists']);
    const version = await trainAndAnnounceEmbeddings({ kafka: clients.kafka, serde: clients.serde, registry, dims, method, minCount, seed, log }).catch((err: unknown) => {
      if (err instanceof EmptyPlaylistTableError) throw new InputError(`${err.message}: import some first (buddies import mpd DIR)`);
      return asInputError(err, registry.dir);
    });
    process.stdout.write(versionLine(version));
    return 0;
  },
};

/** The lifecycle's clients: the registry and the announcements topic (which must exist). */
async function lifecycleDeps(ctx: CommandContext): Promise<LifecycleDeps> {
  const { kafka, serde } = await announcer(ctx);
  return { registry: registryOf(ctx), announcements: createAnnouncementLog({ kafka, serde }) };
}

/** The kind of VERSION: --kind when given, else the kind the registry holds it under. */
async function kindOfVersion(ctx: CommandContext, version: string, flag: string | undefined): Promise<RegistryKind> {
  const given = kindFlag(flag, false);
  if (given) return given;
  const registry = registryOf(ctx);
  const found: RegistryKind[] = [];
  for (const k of REGISTRY_KINDS) if (await registry.get(k, version).catch((err: unknown) => asInputError(err, registry.dir))) found.push(k);
  if (found.length === 0) throw new InputError(`no model version ${version} in the model registry ${registry.dir} (buddies models list shows them)`);
  if (found.length > 1) throw new UsageError(`${version} is a version of ${found.map((k) => MODEL_NAMES[k]).join(' and ')}: give --kind`);
  return found[0]!;
}

const PROMOTE_HELP = `usage: buddies models promote [VERSION] [--kind ${KIND_NAMES.join('|')}]

Puts VERSION in production: announces it on the model announcements topic (the live recommender serves it from
its next lists, within seconds) and marks it production, the version before it retired. Without VERSION,
promotes the running BPR canary (and ends the canary). A candidate can be promoted straight away, and a retired
version too (a manual rollback to it). While a canary runs, only the canary can be promoted.
Prints '<model> <version> production <uri>' on stdout.

  --kind K   ${KIND_NAMES.join(' or ')} (default: the kind the registry holds VERSION under; bpr without VERSION)

Needs Kafka, the registry and the announcements topic (buddies topics ensure).
Exit: 0 ok, 1 unknown version, a canary in the way or a service down, 2 bad flags.`;

export const modelsPromoteCommand: Command = {
  summary: 'put a version (or the running canary) in production',
  help: PROMOTE_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, { kind: { type: 'string' } });
    const [version] = positionals;
    noExtra(positionals, 1);
    const kind = version === undefined ? (kindFlag(v.kind, false) ?? 'BPR') : await kindOfVersion(ctx, version, v.kind);
    const deps = await lifecycleDeps(ctx);
    const r = await promote(deps, kind, version).catch((err: unknown) => asInputError(err, deps.registry.dir));
    log(`${r.promoted.modelName} ${r.promoted.version} in production${r.fromCanary ? ' (the canary ended)' : ''}${r.replaced ? `; ${r.replaced} retired` : ''}`);
    process.stdout.write(versionLine(r.promoted));
    return 0;
  },
};

const ROLLBACK_HELP = `usage: buddies models rollback [--kind ${KIND_NAMES.join('|')}]

Rolls back a kind (default bpr): when a canary runs, ends it (everyone is served by production again from the
next lists) and retires the canary version; otherwise puts back the version that was in production before the
current one, and retires the current one. Announced on the model announcements topic: the live recommender
follows within seconds. Prints '<model> <version> <status> <uri>' on stdout for the version taken out, then for
the version serving now.

  --kind K   ${KIND_NAMES.join(' or ')} (default bpr)

Needs Kafka, the registry and the announcements topic (buddies topics ensure).
Exit: 0 ok, 1 nothing to roll back to or a service down, 2 bad flags.`;

export const modelsRollbackCommand: Command = {
  summary: 'end the running canary, or put the previous production version back',
  help: ROLLBACK_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, { kind: { type: 'string' } });
    noExtra(positionals);
    const kind = kindFlag(v.kind, false) ?? 'BPR';
    const deps = await lifecycleDeps(ctx);
    const r = await rollback(deps, kind).catch((err: unknown) => asInputError(err, deps.registry.dir));
    log(r.what === 'canary' ? `${MODEL_NAMES[kind]} canary ${r.from} rolled back; production ${r.to ?? 'none'} serves everyone` : `${MODEL_NAMES[kind]} rolled back from ${r.from} to ${r.to}`);
    for (const version of [r.from, r.to]) {
      const m = version === undefined ? undefined : await deps.registry.get(kind, version);
      if (m) process.stdout.write(versionLine(m));
    }
    return 0;
  },
};

const CANARY_HELP = `usage: buddies models canary VERSION [--share S]

Starts a canary of a BPR candidate: a share S of the users, chosen by a stable hash of their id, is served by
VERSION, everyone else by production; each list names the BPR that served it (its modelVersion ends in
+bpr:<version>). Announced on the model announcements topic under 'bpr@canary'; the version becomes canary.
Run it again with another --share to change the share of the running canary. 'buddies lifecycle' then
promotes or rolls it back on its online metrics (docs/lifecycle.md); 'buddies models promote' and
'buddies models rollback' do it by hand. Prints 'bpr <version> canary <uri>' on stdout.

  --share S   share of users in (0, 1) (default BUDDIES_CANARY_SHARE, 0.1 unless set)

Needs a BPR version in production, Kafka, the registry and the announcements topic.
Exit: 0 ok, 1 not a candidate, another canary running, nothing in production or a service down, 2 bad flags.`;

export const modelsCanaryCommand: Command = {
  summary: 'serve a BPR candidate to a share of the users beside production',
  help: CANARY_HELP,
  async run(argv, ctx) {
    const { values: v, positionals } = parseFlagsAndArgs(argv, { share: { type: 'string' } });
    const [version] = positionals;
    if (version === undefined) throw new UsageError('give the BPR version to canary: buddies models canary VERSION --share S');
    noExtra(positionals, 1);
    const share = numberFlag('share', v.share, ctx.config.lifecycle.canaryShare, 0, 1);
    if (share <= 0 || share >= 1) throw new UsageError(`--share must be between 0 and 1 (exclusive), got '${v.share}'`);
    const deps = await lifecycleDeps(ctx);
    const c = await startCanary(deps, 'BPR', version, share).catch((err: unknown) => asInputError(err, deps.registry.dir));
    log(`bpr ${c.version} in canary for ${Math.round(c.share * 1000) / 10}% of users (since ${new Date(c.startedAt).toISOString()})`);
    const m = await deps.registry.get('BPR', c.version);
    if (m) process.stdout.write(versionLine(m));
    return 0;
  },
};

const SUBCOMMANDS: ReadonlyArray<readonly [string, Subcommand]> = [
  ['list', { line: 'the versions, newest first, with status (candidate, canary, production, retired) and metrics', load: async () => modelsListCommand }],
  ['publish', { line: `DIR --kind ${KIND_NAMES.join('|')}: publish a saved model folder (buddies offline train-bpr --out DIR) and announce it`, load: async () => modelsPublishCommand }],
  ['train-embeddings', { line: 'train track embeddings from the playlists topic, publish and announce them', load: async () => modelsTrainEmbeddingsCommand }],
  ['canary', { line: 'VERSION [--share S]: serve a BPR candidate to a share of the users beside production', load: async () => modelsCanaryCommand }],
  ['promote', { line: '[VERSION]: put a version (default: the running canary) in production', load: async () => modelsPromoteCommand }],
  ['rollback', { line: '[--kind K]: end the running canary, or put the previous production version back', load: async () => modelsRollbackCommand }],
];

/** `buddies models SUB ...`: the model registry (registry/): list, publish and announce, train embeddings. */
export const modelsCommand = createDispatcher({
  name: 'models',
  noun: 'subcommand',
  summary: 'the model registry: list versions, publish and announce a saved model, train track embeddings, canary, promote, roll back',
  intro: `The model registry: versioned models under BUDDIES_MODELS_DIR (<kind>/<version>/ with registry.json),
announced on the model announcements topic, from which the live recommender loads them (docs/models-registry.md).`,
  subcommands: SUBCOMMANDS,
});
