import { connectStreams, requireTopics, stopOnSignals } from '../streams/index.js';
import {
  createTopPicksMetrics, createTopPicksScheduler, CronError, DEFAULT_BATCH_SIZER_OPTIONS, DEFAULT_TOP_PICKS_OPTIONS, parseCron, runTopPicks, serveTopPicksHealth, type CronSchedule,
} from '../trainer/index.js';
import { InputError, UsageError, wantsHelp, type Command } from './command.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';

const D = DEFAULT_TOP_PICKS_OPTIONS;
const B = DEFAULT_BATCH_SIZER_OPTIONS;

export const TOP_PICKS_HELP = `usage: buddies trainer top-picks [--once] [--cron EXPR] [options]

Top Picks for Today: recomputes the list of every active user and publishes it on the recommendation topic,
marked as a daily pick (dailyPick: true). Reads what the live system publishes on Kafka: the playlist table,
every user's taste and pairing (compacted topics) and the announced models (loaded from BUDDIES_MODELS_DIR),
and ranks with the live recommender's code path (models/recommend, production's BPR or the canary's for users
in its share). Users are active when their taste or pairing moved within --active-ms. Batches are sized
dynamically: the measured time per user sets the next batch to what fits in --target-batch-ms, and a small
remainder of the backlog is taken whole. State: none (a run that dies is simply run again); docs/trainer.md.

options:
  --once                  one run now, print '<lists> daily lists for <users> active users ...' on stdout and exit
                          (what a Kubernetes CronJob runs)
  --cron EXPR             without --once: run at each time EXPR fires, five fields, UTC
                          (default BUDDIES_TOP_PICKS_CRON, '0 6 * * *': 06:00 every day)
  --active-ms MS          activity span (default BUDDIES_TOP_PICKS_ACTIVE_MS, ${D.activeMs}: 30 days)
  --k N                   playlists per list (default ${D.k})
  --target-batch-ms MS    wall time a batch should take (default ${D.targetBatchMs})
  --max-batch N           largest batch (default ${B.max})
  --group-prefix P        prefix of the throwaway consumer groups that read the tables (default: buddies)
  --metrics-port P        port of /metrics, /healthz, /readyz (default BUDDIES_METRICS_PORT; 0: any free port, logged)

Needs Kafka, the schema registry and the topics (buddies topics ensure).
Exit: 0 ok, 1 a failed run or a service down, 2 bad flags.
`;

const log = (line: string): void => void process.stderr.write(`[top-picks] ${line}\n`);

function schedule(expr: string, from: 'flag' | 'env'): CronSchedule {
  try {
    return parseCron(expr);
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    if (from === 'flag') throw new UsageError(`--cron: ${err.message}`);
    throw new InputError(`BUDDIES_TOP_PICKS_CRON: ${err.message}`);
  }
}

export const trainerTopPicksCommand: Command = {
  summary: 'recompute every active user\'s daily Top Picks list, on a cron schedule or once',
  help: TOP_PICKS_HELP,
  async run(argv, ctx) {
    if (wantsHelp(argv)) {
      process.stdout.write(TOP_PICKS_HELP);
      return 0;
    }
    const { values: v, positionals } = parseFlagsAndArgs(argv, {
      once: { type: 'boolean', default: false },
      cron: { type: 'string' },
      'active-ms': { type: 'string' },
      k: { type: 'string' },
      'target-batch-ms': { type: 'string' },
      'max-batch': { type: 'string' },
      'group-prefix': { type: 'string', default: 'buddies' },
      'metrics-port': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (v.once && v.cron !== undefined) throw new UsageError('--once runs now: it takes no --cron');
    const cron = v.once ? undefined : v.cron !== undefined ? schedule(v.cron, 'flag') : schedule(ctx.config.topPicks.cron, 'env');
    const options = {
      activeMs: intFlag('active-ms', v['active-ms'], ctx.config.topPicks.activeMs),
      k: intFlag('k', v.k, D.k),
      batching: { targetMs: intFlag('target-batch-ms', v['target-batch-ms'], D.targetBatchMs), max: intFlag('max-batch', v['max-batch'], B.max) },
      groupPrefix: v['group-prefix'],
    };
    const metricsPort = intFlag('metrics-port', v['metrics-port'], ctx.config.metricsPort, 0, 65535);
    const keys = ['playlists', 'tasteEmbeddings', 'pairings', 'modelAnnouncements', 'recommendations'] as const;
    const clients = await connectStreams(ctx.config, { role: 'top-picks', keys });
    await requireTopics(clients.kafka, clients.topics, [...keys]);
    const metrics = createTopPicksMetrics();
    const base = { ...options, kafka: clients.kafka, serde: clients.serde, metrics, log };
    if (!cron) {
      const health = await serveTopPicksHealth({ port: metricsPort, metrics, live: () => true, ready: () => true });
      log(`metrics on http://127.0.0.1:${health.port}/metrics`);
      const t0 = performance.now();
      try {
        const r = await runTopPicks(base);
        metrics.finished('published', r.seconds, Date.now());
        process.stdout.write(`${r.lists} daily lists for ${r.users} active users (${r.coldStart} popular, ${r.canary} canary) in ${r.seconds.toFixed(1)} s, ${r.batches} batches, model ${r.modelVersion}\n`);
        return 0;
      } catch (err) {
        metrics.finished('failed', (performance.now() - t0) / 1000, Date.now());
        throw err;
      } finally {
        await health.stop();
      }
    }
    const scheduler = createTopPicksScheduler({ schedule: cron, run: () => runTopPicks(base), metrics, log });
    const health = await serveTopPicksHealth({ port: metricsPort, metrics, live: () => scheduler.running, ready: () => scheduler.running });
    stopOnSignals([scheduler, health], { log });
    log(`running: daily lists at '${cron.source}' (UTC); metrics and health on http://127.0.0.1:${health.port}/metrics, /healthz, /readyz; Ctrl-C to stop`);
    await scheduler.run();
    await health.stop();
    return 0;
  },
};
