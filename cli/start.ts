import { Counter, Gauge } from 'prom-client';
import { DEFAULT_SIGNAL_WEIGHTS } from '../models/taste/index.js';
import {
  createRecommenderApp, createWarehouseApp, EmptyPlaylistTableError, createWindowsApp, DEFAULT_RECOMMENDER_OPTIONS, DEFAULT_WINDOW_OPTIONS, NoEmbeddingsError, RECOMMEND_STRATEGIES, SINK_TOPICS, trainAndAnnounceEmbeddings,
  type ProcessorApp, type RecommendStrategy,
} from '../processors/index.js';
import { connectStreams, createStreamsMetrics, requireTopics, serveHealth, stopOnSignals, type HealthServer, type StreamClients, type StreamsMetrics } from '../streams/index.js';
import { createWarehouseClient, requireWarehouseSchema, warehouseOptions } from '../warehouse/index.js';
import type { BuddiesConfig } from '../config/index.js';
import { createModelRegistry } from '../registry/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, choiceListFlag, intFlag, numberFlag, parseFlagsAndArgs } from './flags.js';

const R = DEFAULT_RECOMMENDER_OPTIONS;
const W = DEFAULT_SIGNAL_WEIGHTS;

/** The processors of the live system, in start order. */
export const PROCESSORS = ['warehouse', 'recommender', 'windows'] as const;
export type ProcessorName = (typeof PROCESSORS)[number];

const HELP = `usage: buddies start [--only NAME ...] [options]

Runs the processors of the live system until SIGTERM or Ctrl-C, each with its own /metrics, /healthz and
/readyz endpoint; on a signal each finishes its batch, commits and leaves its group. Needs the topics
(buddies topics ensure) and, for the warehouse, the schema (buddies warehouse migrate).

  warehouse     listens, feedback, playlists and recommendations into ClickHouse (at-least-once; the
                ReplacingMergeTree tables fold replays away)
  recommender   the live recommender (exactly-once): each user's taste, buddies and lists, on durable state;
                the first start trains and announces track embeddings when none were announced
  windows       tumbling event-time windows of user-playlist interactions, for the trainer

options:
  --only NAME          run only this processor (repeatable, or comma-separated): ${PROCESSORS.join(', ')}
  --group-prefix P     consumer group prefix (default: buddies)
  --strategy S         recommender: ${RECOMMEND_STRATEGIES.join(', ')} (default ${R.strategy}; the others are baselines for online metrics)
  --k K                recommender: playlists per list (default ${R.k})
  --refresh-every N    recommender: listens between two lists for a user (default ${R.refreshEvery})
  --skip-weight=W      recommender: taste weight of a skipped track (default ${W.skip}; plays count ${W.play})
  --dismiss-weight=W   recommender: taste weight of a dismissed playlist (default ${W.dismiss}; follows count ${W.follow})
  --from WHERE         recommender: where a new group starts, earliest (the whole retained history folds into
                       the users' state) or latest (default earliest)
  --dims D             track embedding size when the first embeddings are trained (default 32)
  --window-ms MS       windows: window length (default ${DEFAULT_WINDOW_OPTIONS.windowMs})
  --grace-ms MS        windows: how late an event may be and still count (default ${DEFAULT_WINDOW_OPTIONS.graceMs})
  --metrics-port P     first port of the metrics and health endpoints, one per processor in the order above
                       (default BUDDIES_METRICS_PORT; 0: any free port each; the addresses are logged)

Exits non-zero when a processor cannot go on (its consumer crashed): its supervisor restarts it.
`;

export interface StartFlags {
  readonly only: readonly ProcessorName[];
  readonly groupPrefix: string;
  readonly strategy: RecommendStrategy;
  readonly k: number;
  readonly refreshEvery: number;
  readonly skip: number;
  readonly dismiss: number;
  readonly from: 'earliest' | 'latest';
  readonly dims: number;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly metricsPort: number;
}

export function parseStartFlags(argv: string[], config: BuddiesConfig, positional: 'none' | 'processor'): StartFlags {
  const { values, positionals } = parseFlagsAndArgs(argv, {
    only: { type: 'string', multiple: true },
    'group-prefix': { type: 'string', default: 'buddies' },
    strategy: { type: 'string' },
    k: { type: 'string' },
    'refresh-every': { type: 'string' },
    'skip-weight': { type: 'string' },
    'dismiss-weight': { type: 'string' },
    from: { type: 'string' },
    dims: { type: 'string' },
    'window-ms': { type: 'string' },
    'grace-ms': { type: 'string' },
    'metrics-port': { type: 'string' },
  });
  let only: readonly ProcessorName[];
  if (positional === 'processor') {
    const [which, extra] = positionals;
    if (!which) throw new UsageError(`missing processor: ${PROCESSORS.join(', ')}`);
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    only = [choiceFlag('processor', which, PROCESSORS)];
  } else {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    only = values.only ? choiceListFlag('only', values.only.join(','), PROCESSORS, PROCESSORS) : PROCESSORS;
  }
  return {
    only,
    groupPrefix: values['group-prefix'],
    strategy: choiceFlag('strategy', values.strategy, RECOMMEND_STRATEGIES, R.strategy),
    k: intFlag('k', values.k, R.k),
    refreshEvery: intFlag('refresh-every', values['refresh-every'], R.refreshEvery),
    skip: numberFlag('skip-weight', values['skip-weight'], W.skip, -Infinity, 0),
    dismiss: numberFlag('dismiss-weight', values['dismiss-weight'], W.dismiss, -Infinity, 0),
    from: choiceFlag('from', values.from, ['earliest', 'latest'] as const, 'earliest'),
    dims: intFlag('dims', values.dims, 32, 2, 1024),
    windowMs: intFlag('window-ms', values['window-ms'], DEFAULT_WINDOW_OPTIONS.windowMs, 1000),
    graceMs: intFlag('grace-ms', values['grace-ms'], DEFAULT_WINDOW_OPTIONS.graceMs, 0),
    metricsPort: intFlag('metrics-port', values['metrics-port'], config.metricsPort, 0, 65535),
  };
}

/** Recommender counters in the processor's registry, read from its stats at each scrape. */
function recommenderMetrics(metrics: StreamsMetrics, app: Awaited<ReturnType<typeof createRecommenderApp>>): void {
  const stat = (name: string, help: string, key: 'lists' | 'duplicates' | 'tastesPublished' | 'pairingsPublished' | 'forgotten') =>
    new Counter({ name, help, registers: [metrics.registry], collect() { this.reset(); this.inc(app.live.stats[key]); } });
  stat('buddies_recommender_lists_total', 'Recommendation lists written.', 'lists');
  stat('buddies_recommender_duplicate_events_total', 'Events skipped because they were counted before (replays, duplicates).', 'duplicates');
  stat('buddies_recommender_tastes_published_total', 'Taste embeddings written (the taste moved past the threshold).', 'tastesPublished');
  stat('buddies_recommender_pairings_published_total', 'Pairings written (the buddies changed).', 'pairingsPublished');
  stat('buddies_recommender_forgotten_total', 'Users forgotten (FORGET_USER processed).', 'forgotten');
  new Gauge({ name: 'buddies_recommender_paired_users', help: 'Users in the pairing index.', registers: [metrics.registry], collect() { this.set(app.world.index()?.size ?? 0); } });
  new Gauge({ name: 'buddies_recommender_playlists', help: 'Playlists the recommender can offer.', registers: [metrics.registry], collect() { this.set(app.world.catalog.size); } });
  new Gauge({
    name: 'buddies_recommender_model_info', help: 'The models in use (value 1), by version.', labelNames: ['embeddings', 'bpr'], registers: [metrics.registry],
    collect() {
      this.reset();
      this.set({ embeddings: app.world.embeddings()?.version ?? 'none', bpr: app.world.bpr()?.version ?? 'none' }, 1);
    },
  });
}

interface Running {
  readonly name: ProcessorName;
  readonly app: ProcessorApp;
  readonly health: HealthServer;
}

/** Builds, serves and starts the chosen processors; resolves once all run (or stops them all and throws). */
export async function startProcessors(flags: StartFlags, config: BuddiesConfig, log: (line: string) => void, clients?: StreamClients): Promise<Running[]> {
  const { kafka, serde, topics } = clients ?? (await connectStreams(config, { role: flags.only.join('+') }));
  const onFatal = (name: string) => (err: unknown) => {
    log(`${name}: stopped for good (${err instanceof Error ? err.message : String(err)}); exiting 1 for the supervisor to restart it`);
    process.exit(1);
  };
  const wants = (n: ProcessorName) => flags.only.includes(n);
  if (wants('warehouse')) {
    await requireTopics(kafka, topics, [...SINK_TOPICS, 'deadLetters']);
    await requireWarehouseSchema(warehouseOptions(config));
  }
  if (wants('recommender') || wants('windows')) {
    await requireTopics(kafka, topics, ['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'modelAnnouncements', 'interactionWindows', 'deadLetters']);
  }
  const running: Running[] = [];
  const stopAll = async () => {
    for (const r of running.reverse()) {
      await r.app.stop().catch(() => {});
      await r.health.stop().catch(() => {});
    }
  };
  try {
    for (const [i, name] of PROCESSORS.entries()) {
      if (!wants(name)) continue;
      const metrics = createStreamsMetrics();
      const base = { kafka, serde, log, metrics, onFatal: onFatal(name), groupPrefix: flags.groupPrefix, maxFutureSkewMs: config.maxClockSkewMs };
      let app: ProcessorApp;
      if (name === 'warehouse') {
        app = createWarehouseApp({ ...base, client: createWarehouseClient(warehouseOptions(config)) });
      } else if (name === 'recommender') {
        const rec = await createRecommenderApp({
          ...base, topics, strategy: flags.strategy, k: flags.k, refreshEvery: flags.refreshEvery, startAt: flags.from,
          taste: { weights: { skip: flags.skip, dismiss: flags.dismiss } },
          bootstrapEmbeddings: async () => { await trainAndAnnounceEmbeddings({ kafka, serde, registry: createModelRegistry(config.modelsDir), dims: flags.dims, log }); },
        }).catch((err: unknown) => {
          if (err instanceof NoEmbeddingsError) throw new InputError(`${err.message}: train them first (buddies models train-embeddings)`);
          if (err instanceof EmptyPlaylistTableError) throw new InputError(`${err.message}: import some first (buddies import mpd DIR), then start again`);
          throw err;
        });
        recommenderMetrics(metrics, rec);
        app = rec;
      } else {
        app = createWindowsApp({ ...base, windowMs: flags.windowMs, graceMs: flags.graceMs });
      }
      const port = flags.metricsPort === 0 ? 0 : flags.metricsPort + i;
      const health = await serveHealth({ port, metrics, apps: () => app.apps });
      running.push({ name, app, health });
    }
    for (const r of running) {
      await r.app.start();
      log(`${r.name} running; metrics and health on http://127.0.0.1:${r.health.port}/metrics, /healthz, /readyz`);
    }
  } catch (err) {
    // the applications that did start would keep the process up, consuming: stop them all before reporting
    await stopAll();
    throw err;
  }
  return running;
}

export const startCommand: Command = {
  summary: 'run the live system (warehouse sink, recommender, interaction windows) until stopped',
  help: HELP,
  async run(argv, ctx) {
    const flags = parseStartFlags(argv, ctx.config, 'none');
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const running = await startProcessors(flags, ctx.config, log);
    stopOnSignals(running.flatMap((r) => [r.app, r.health]), { log });
    log(`${running.map((r) => r.name).join(', ')} running; Ctrl-C to stop`);
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
