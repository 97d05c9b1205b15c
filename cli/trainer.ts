import { createAnnouncementLog, createModelRegistry, startCanary } from '../registry/index.js';
import { connectStreams, requireTopics, stopOnSignals } from '../streams/index.js';
import {
  createTrainer, createTrainerMetrics, DEFAULT_EVAL_USERS, DEFAULT_TRAINER_OPTIONS, DEFAULT_GATE_OPTIONS, GATE_METRICS, pendingRequests, requestRetrain, serveTrainerHealth, type RetrainTrigger, type RunOutcome,
} from '../trainer/index.js';
import type { BuddiesConfig } from '../config/index.js';
import { UsageError, wantsHelp, type Command } from './command.js';
import { trainerTopPicksCommand } from './trainer-top-picks.js';
import { BPR_FLAGS, BPR_FLAGS_HELP, bprOptionsFromFlags } from './bpr-flags.js';
import { choiceFlag, intFlag, numberFlag, parseFlags, parseFlagsAndArgs } from './flags.js';
import { makeDirs } from './dirs.js';

const TRAINER_DEFAULTS = DEFAULT_TRAINER_OPTIONS;
const G = DEFAULT_GATE_OPTIONS;

const HELP = `usage: buddies trainer [options]
       buddies trainer retrain --reason R [--trigger request|degradation]
       buddies trainer top-picks [--once] [--cron EXPR]   (daily Top Picks lists; see its --help)

Follows the interaction-window topic (written by 'buddies start') into a sliding training set and refreshes
BPR from it: every --interval-ms, on request ('buddies trainer retrain', or a request file from the
degradation monitor) and at once when there is no BPR yet (then every 30 polls until one is in production).
Each run freezes the set, holds out the most recent window, trains warm-started from the production BPR
(known users and playlists keep their factors, new ones start random) on the backend models/bpr picks, checkpoints as it goes, and compares the candidate
with production on the held-out window: published as a candidate when not worse than production by more than
--margin, announced to production when there is no BPR in production yet, refused (logged, counted) otherwise.
Killed mid-run, the next start resumes the run from its newest checkpoint on the same data. Runs until
SIGTERM or Ctrl-C, with /metrics, /healthz and /readyz. State: BUDDIES_TRAINER_DIR (default
<BUDDIES_MODELS_DIR>/.trainer); docs/trainer.md.

options:
  --once                   finish a run a crash interrupted, or else read the topic to its end and train once;
                           print '<status> bpr <version|-> <reason>' on stdout and exit
  --interval-ms MS         time between scheduled runs (default ${TRAINER_DEFAULTS.intervalMs})
  --horizon-ms MS          event-time horizon of the training set (default ${TRAINER_DEFAULTS.horizonMs}: 72 h)
  --max-interactions N     most window-playlist interactions held; the oldest windows go first (default ${TRAINER_DEFAULTS.maxInteractions})
  --min-weight W           a user-playlist weight summed over the windows must be above W to be a positive (default ${TRAINER_DEFAULTS.minWeight})
  --checkpoint-every E     a checkpoint every E epochs (default: every 5% of --epochs)
  --gate-metric M          ${GATE_METRICS.join(' | ')}: held-out metric compared with production (default ${G.metric}: NDCG@10)
  --margin X               publish when not worse than production by more than X on it (default ${G.margin})
  --min-auc X              sanity bar: held-out AUC every candidate must reach (default ${G.minAuc})
  --min-eval-users N       held-out users needed to judge a candidate (default ${G.minUsers})
  --eval-users N           at most N held-out users evaluated (default ${DEFAULT_EVAL_USERS})
  --poll-ms MS             how often request files are looked for (default ${TRAINER_DEFAULTS.pollMs})
  --group-prefix P         consumer group prefix (default: buddies; each process reads in a group P.trainer-<random>)
  --metrics-port P         port of /metrics, /healthz, /readyz (default BUDDIES_METRICS_PORT; 0: any free port, logged)

${BPR_FLAGS_HELP}

Needs Kafka, the schema registry and the topics (buddies topics ensure).
Exit: 0 ok (a refused or skipped run too), 1 a failed run or a service down, 2 bad flags.
`;

const RETRAIN_HELP = `usage: buddies trainer retrain --reason R [--trigger request|degradation]

Asks the trainer (the one using BUDDIES_TRAINER_DIR) for a run as soon as it is free: writes a request file
under <trainer dir>/requests/. Requests made while it trains or is down coalesce into one run, their reasons
recorded with it. Needs no service.

  --reason R     why (recorded with the run and in the registry's params)
  --trigger T    request (default) or degradation (what the degradation monitor uses)

Exit: 0 ok, 1 the trainer folder is not writable, 2 bad flags.`;

const log = (line: string): void => void process.stderr.write(`[trainer] ${line}\n`);

const outcomeLine = (o: RunOutcome): string => `${o.status} bpr ${o.version ?? '-'} ${o.reason}\n`;

export const trainerRetrainCommand: Command = {
  summary: 'ask the trainer for a run now',
  help: RETRAIN_HELP,
  async run(argv, ctx) {
    const v = parseFlags(argv, { reason: { type: 'string' }, trigger: { type: 'string' } });
    if (v.reason === undefined || v.reason.trim() === '') throw new UsageError('--reason is required (say why the model should be retrained)');
    const trigger = choiceFlag<RetrainTrigger>('trigger', v.trigger, ['request', 'degradation'], 'request');
    const dir = ctx.config.trainerDir;
    await makeDirs(dir, 'set BUDDIES_TRAINER_DIR to a writable folder');
    await requestRetrain(dir, v.reason, trigger);
    log(`retrain requested (${trigger}: ${v.reason.trim()}); ${await pendingRequests(dir)} request(s) pending in ${dir}`);
    return 0;
  },
};

interface TrainerFlags {
  readonly once: boolean;
  readonly metricsPort: number;
  readonly groupPrefix: string;
}

function parseTrainerFlags(argv: string[], config: BuddiesConfig) {
  const { values: v, positionals } = parseFlagsAndArgs(argv, {
    once: { type: 'boolean', default: false },
    'interval-ms': { type: 'string' },
    'horizon-ms': { type: 'string' },
    'max-interactions': { type: 'string' },
    'min-weight': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'gate-metric': { type: 'string' },
    margin: { type: 'string' },
    'min-auc': { type: 'string' },
    'min-eval-users': { type: 'string' },
    'eval-users': { type: 'string' },
    'poll-ms': { type: 'string' },
    'group-prefix': { type: 'string', default: 'buddies' },
    'metrics-port': { type: 'string' },
    ...BPR_FLAGS,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (subcommands: retrain, top-picks)`);
  const bpr = bprOptionsFromFlags(v, log);
  const { backend, log: _log, tfBackend: _tf, ...bprParams } = bpr;
  const flags: TrainerFlags = { once: v.once, metricsPort: intFlag('metrics-port', v['metrics-port'], config.metricsPort, 0, 65535), groupPrefix: v['group-prefix'] };
  return {
    flags,
    options: {
      horizonMs: intFlag('horizon-ms', v['horizon-ms'], TRAINER_DEFAULTS.horizonMs),
      maxInteractions: intFlag('max-interactions', v['max-interactions'], TRAINER_DEFAULTS.maxInteractions),
      minWeight: numberFlag('min-weight', v['min-weight'], TRAINER_DEFAULTS.minWeight, -Infinity),
      intervalMs: intFlag('interval-ms', v['interval-ms'], TRAINER_DEFAULTS.intervalMs),
      pollMs: intFlag('poll-ms', v['poll-ms'], TRAINER_DEFAULTS.pollMs, 10),
      ...(v['checkpoint-every'] === undefined ? {} : { checkpointEvery: intFlag('checkpoint-every', v['checkpoint-every'], undefined) }),
      bpr: bprParams,
      backend: backend ?? 'auto',
      gate: {
        metric: choiceFlag('gate-metric', v['gate-metric'], GATE_METRICS, G.metric),
        margin: numberFlag('margin', v.margin, G.margin, 0),
        minAuc: numberFlag('min-auc', v['min-auc'], G.minAuc, 0, 1),
        minUsers: intFlag('min-eval-users', v['min-eval-users'], G.minUsers, 0),
      },
      evaluation: { maxUsers: intFlag('eval-users', v['eval-users'], DEFAULT_EVAL_USERS) },
    },
  };
}

export const trainerCommand: Command = {
  summary: 'refresh BPR from the interaction windows: scheduled, on request, warm-started, checkpointed, gated',
  help: HELP,
  handlesHelp: true,
  async run(argv, ctx) {
    if (argv[0] === 'top-picks') {
      return trainerTopPicksCommand.run(argv.slice(1), ctx).catch((err: unknown) => {
        if (err instanceof UsageError) throw new UsageError(`top-picks: ${err.message}`);
        throw err;
      });
    }
    if (argv[0] === 'retrain') {
      const rest = argv.slice(1);
      if (wantsHelp(rest)) {
        process.stdout.write(`${RETRAIN_HELP}\n`);
        return 0;
      }
      return trainerRetrainCommand.run(rest, ctx).catch((err: unknown) => {
        if (err instanceof UsageError) throw new UsageError(`retrain: ${err.message}`);
        throw err;
      });
    }
    if (wantsHelp(argv)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { flags, options } = parseTrainerFlags(argv, ctx.config);
    const dir = ctx.config.trainerDir;
    await makeDirs(dir, 'set BUDDIES_TRAINER_DIR to a writable folder');
    const clients = await connectStreams(ctx.config, { role: 'trainer', keys: ['interactionWindows', 'modelAnnouncements'] });
    await requireTopics(clients.kafka, clients.topics, ['interactionWindows', 'modelAnnouncements']);
    const metrics = createTrainerMetrics();
    const registry = createModelRegistry(ctx.config.modelsDir);
    const trainer = createTrainer({
      ...options, kafka: clients.kafka, serde: clients.serde, registry, dir, groupPrefix: `${flags.groupPrefix}.trainer`, metrics, log,
      // a published candidate goes to canary at once (buddies lifecycle decides promote or rollback on its online metrics)
      onCandidate: async (v) => {
        const c = await startCanary({ registry, announcements: createAnnouncementLog({ kafka: clients.kafka, serde: clients.serde }) }, 'BPR', v.version, ctx.config.lifecycle.canaryShare);
        log(`candidate ${v.version} in canary for ${Math.round(c.share * 100)}% of users ('buddies lifecycle' promotes or rolls it back)`);
      },
      onFatal: (err) => {
        log(`stopped for good (${err.message}); exiting 1 for the supervisor to restart it`);
        process.exit(1);
      },
    });
    const health = await serveTrainerHealth({ port: flags.metricsPort, metrics, live: () => trainer.live(), ready: () => trainer.ready() });
    stopOnSignals([trainer, health], { log });
    log(`state in ${dir}; metrics and health on http://127.0.0.1:${health.port}/metrics, /healthz, /readyz`);
    try {
      await trainer.start();
      if (!flags.once) {
        log(`running: a run every ${options.intervalMs} ms and on request ('buddies trainer retrain --reason R'); Ctrl-C to stop`);
        await trainer.runSchedule();
        return 0;
      }
      const resumed = await trainer.resumeUnfinished();
      let outcome = resumed.at(-1);
      if (!outcome) {
        await trainer.caughtUp();
        outcome = await trainer.trainNow('once', ['buddies trainer --once']);
      }
      process.stdout.write(outcomeLine(outcome));
      return outcome.status === 'failed' ? 1 : 0;
    } finally {
      await trainer.stop();
      await health.stop();
    }
  },
};
