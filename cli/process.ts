import { DEFAULT_SIGNAL_WEIGHTS } from '../models/taste/index.js';
import {
  createRecommenderApp, createWarehouseApp, DEFAULT_RECOMMENDER_OPTIONS, EmptyPlaylistTableError, LIVE_EMBEDDING_DIMS, RECOMMEND_STRATEGIES, SINK_TOPICS, type ProcessorApp,
} from '../processors/index.js';
import { connectStreams, createStreamsMetrics, requireTopics, serveHealth, stopOnSignals } from '../streams/index.js';
import { createWarehouseClient, requireWarehouseSchema, warehouseOptions } from '../warehouse/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, intFlag, numberFlag, parseFlagsAndArgs } from './flags.js';

const R = DEFAULT_RECOMMENDER_OPTIONS;
const W = DEFAULT_SIGNAL_WEIGHTS;

const HELP = `usage: buddies process <warehouse|recommender> [options]

Runs stream processors until SIGTERM or Ctrl-C (each finishes its batch, commits and leaves its group).
Needs the topics (buddies topics ensure) and, for the warehouse, the schema (buddies warehouse migrate).

  warehouse     listens, feedback, playlists and recommendations into ClickHouse (at-least-once;
                the ReplacingMergeTree tables fold replays away)
  recommender   the live recommender: reads the playlists topic (the playlist table), builds track
                embeddings and the owners' tastes, then for each user's listens and feedback emits
                recommendation lists (exactly-once, to the recommendations topic)

options:
  --group-prefix P     consumer group prefix (default: buddies)
  --strategy S         recommender: ${RECOMMEND_STRATEGIES.join(', ')} (default ${R.strategy}; the others are baselines for online metrics)
  --k K                recommender: playlists per list (default ${R.k})
  --refresh-every N    recommender: listens between two lists for a user (default ${R.refreshEvery})
  --dims D             recommender: track embedding size (default ${LIVE_EMBEDDING_DIMS})
  --skip-weight=W      recommender: taste weight of a skipped track (default ${W.skip}; plays count ${W.play})
  --dismiss-weight=W   recommender: taste weight of a dismissed playlist (default ${W.dismiss}; follows count ${W.follow})
  --metrics-port P     port of /metrics, /healthz and /readyz (default BUDDIES_METRICS_PORT, else any free
                       port; the address is logged)

Exits non-zero when an application cannot go on (its consumer crashed): its supervisor restarts it.
`;

export const processCommand: Command = {
  summary: 'run stream processors (warehouse sink, live recommender) until stopped',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      'group-prefix': { type: 'string', default: 'buddies' },
      strategy: { type: 'string' },
      k: { type: 'string' },
      'refresh-every': { type: 'string' },
      dims: { type: 'string' },
      'skip-weight': { type: 'string' },
      'dismiss-weight': { type: 'string' },
      'metrics-port': { type: 'string' },
    });
    const [which, extra] = positionals;
    if (which !== 'warehouse' && which !== 'recommender') throw new UsageError(which ? `unknown processor '${which}'` : 'missing processor: warehouse or recommender');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const strategy = choiceFlag('strategy', values.strategy, RECOMMEND_STRATEGIES, R.strategy);
    const k = intFlag('k', values.k, R.k);
    const refreshEvery = intFlag('refresh-every', values['refresh-every'], R.refreshEvery);
    const dims = intFlag('dims', values.dims, LIVE_EMBEDDING_DIMS);
    const skip = numberFlag('skip-weight', values['skip-weight'], W.skip, -Infinity, 0);
    const dismiss = numberFlag('dismiss-weight', values['dismiss-weight'], W.dismiss, -Infinity, 0);
    const metricsPort = intFlag('metrics-port', values['metrics-port'], ctx.config.metricsPort, 0, 65535);

    const cfg = ctx.config;
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const { kafka, serde, topics } = await connectStreams(cfg, { role: which });
    const groupPrefix = values['group-prefix'];
    const metrics = createStreamsMetrics();
    const onFatal = (err: unknown) => {
      log(`${which}: stopped for good (${err instanceof Error ? err.message : String(err)}); exiting 1 for the supervisor to restart it`);
      process.exit(1);
    };
    let app: ProcessorApp;
    if (which === 'warehouse') {
      await requireTopics(kafka, topics, [...SINK_TOPICS, 'deadLetters']);
      await requireWarehouseSchema(warehouseOptions(cfg));
      app = createWarehouseApp({ kafka, serde, client: createWarehouseClient(warehouseOptions(cfg)), groupPrefix, log, metrics, onFatal });
    } else {
      await requireTopics(kafka, topics, ['playlists', 'listens', 'feedback', 'recommendations', 'tasteEmbeddings', 'pairings', 'deadLetters']);
      app = await createRecommenderApp({
        kafka, serde, topics, groupPrefix, strategy, k, refreshEvery, dims, taste: { weights: { skip, dismiss } }, log, metrics, onFatal,
      }).catch((err: unknown) => {
        if (err instanceof EmptyPlaylistTableError) throw new InputError(`${err.message}: import some first (buddies import mpd DIR)`);
        throw err;
      });
    }
    const health = await serveHealth({ port: metricsPort, metrics, apps: () => app.apps });
    stopOnSignals([app, health], { log });
    try {
      await app.start();
    } catch (err) {
      // the applications that did start would keep the process up, consuming: stop them all before reporting
      await app.stop().catch(() => {});
      await health.stop();
      throw err;
    }
    log(`${which} running; metrics and health on http://127.0.0.1:${health.port}/metrics, /healthz, /readyz; Ctrl-C to stop`);
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
