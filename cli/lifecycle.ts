import {
  createCanaryController, createClickHouseCounts, createClickHouseRecorder, createDegradationMonitor, type CanaryRule, type MonitorOptions,
} from '../lifecycle/index.js';
import { createAnnouncementLog, createModelRegistry } from '../registry/index.js';
import { retrainRequester } from '../trainer/index.js';
import { connectStreams, createStreamsMetrics, requireTopics, serveProbes, stopOnSignals, type Stoppable } from '../streams/index.js';
import { createWarehouseClient, requireWarehouseSchema, warehouseOptions } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { choiceListFlag, intFlag, parseFlagsAndArgs } from './flags.js';

const PARTS = ['canary', 'monitor'] as const;
type Part = (typeof PARTS)[number];

const HELP = `usage: buddies lifecycle [--only canary|monitor] [--once] [--metrics-port P]

Runs the model lifecycle's two loops until SIGTERM or Ctrl-C (docs/lifecycle.md):

  canary    the canary controller: every BUDDIES_CANARY_INTERVAL_MS it compares the BPR canary's click-through
            and follow rate with production's since the canary started (ClickHouse), with one-sided
            two-proportion z-tests with users as the unit (a user's impressions are correlated: the variance
            is the per-user delta-method one), and promotes it (not worse beyond the margin) or rolls it back
            (significantly worse, or BUDDIES_CANARY_MAX_FAILED_CHECKS failed checks in a row); each decision
            goes to the model_decisions table and buddies_canary_decisions_total
  monitor   the degradation monitor: every BUDDIES_MONITOR_INTERVAL_MS it compares each list model version's
            click-through, follow rate and listen-through over the recent window with its own trailing
            baseline, and asks for retraining when one fell past BUDDIES_MONITOR_THRESHOLD (model_triggers,
            buddies_retrain_triggers_total)

The rule's settings are the BUDDIES_CANARY_* and BUDDIES_MONITOR_* variables (README, Configuration).

options:
  --only PART        run only this loop (repeatable, or comma-separated): ${PARTS.join(', ')}
  --once             one check of each and exit; prints each report as a JSON line on stdout
  --metrics-port P   port of /metrics, /healthz, /readyz (default BUDDIES_METRICS_PORT; 0: any free port, logged)

Needs Kafka, the registry, the announcements topic (buddies topics ensure) and the warehouse schema
(buddies warehouse migrate).
Exit: 0 stopped by a signal (or --once done), 1 a service down, 2 bad flags.`;

export const lifecycleCommand: Command = {
  summary: 'run the canary controller and the degradation monitor until stopped',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      only: { type: 'string', multiple: true }, once: { type: 'boolean', default: false }, 'metrics-port': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const only: readonly Part[] = values.only ? choiceListFlag('only', values.only.join(','), PARTS, PARTS) : PARTS;
    const metricsPort = intFlag('metrics-port', values['metrics-port'], ctx.config.metricsPort, 0, 65535);
    const log = (line: string): void => void process.stderr.write(`[lifecycle] ${line}\n`);
    const cfg = ctx.config.lifecycle;
    const rule: CanaryRule = cfg.canary;
    const options: MonitorOptions = cfg.monitor;

    const { kafka, serde, topics } = await connectStreams(ctx.config, { role: 'lifecycle', keys: ['modelAnnouncements'] });
    await requireTopics(kafka, topics, ['modelAnnouncements']);
    const wh = warehouseOptions(ctx.config);
    await requireWarehouseSchema(wh);
    const client = createWarehouseClient(wh);
    const counts = createClickHouseCounts(client);
    const recorder = createClickHouseRecorder(client);
    const metrics = createStreamsMetrics();
    const deps = { registry: createModelRegistry(ctx.config.modelsDir), announcements: createAnnouncementLog({ kafka, serde }) };
    const requestRetrain = retrainRequester(ctx.config.trainerDir);
    const controller = only.includes('canary') ? createCanaryController({ deps, counts, recorder, rule, metrics: metrics.registry, log }) : undefined;
    const monitor = only.includes('monitor')
      ? createDegradationMonitor({
        counts, recorder, options, metrics: metrics.registry, log,
        // a retrain request in the trainer's state folder (BUDDIES_TRAINER_DIR): 'buddies trainer' takes it on its next check
        onTrigger: (reason) => void requestRetrain(reason).then(
          () => log(`retraining requested: ${reason}`),
          (err: unknown) => log(`could not request retraining in ${ctx.config.trainerDir}: ${err instanceof Error ? err.message : String(err)}`),
        ),
      })
      : undefined;

    if (values.once) {
      try {
        if (controller) process.stdout.write(`${JSON.stringify({ part: 'canary', ...(await controller.check()) })}\n`);
        if (monitor) process.stdout.write(`${JSON.stringify({ part: 'monitor', ...(await monitor.check()) })}\n`);
      } finally {
        await client.close();
      }
      return 0;
    }

    let running = false;
    const health = await serveProbes({
      port: metricsPort, registry: metrics.registry,
      live: () => undefined,
      ready: () => (running ? undefined : 'starting the controller and the monitor'),
    });
    controller?.start();
    monitor?.start();
    running = true;
    log(`${only.join(' and ')} running (canary every ${rule.intervalMs} ms, monitor every ${options.intervalMs} ms); metrics on http://127.0.0.1:${health.port}/metrics`);
    const stoppables: Stoppable[] = [...(controller ? [controller] : []), ...(monitor ? [monitor] : []), health, { stop: () => client.close() }];
    stopOnSignals(stoppables, { log });
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
