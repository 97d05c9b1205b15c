import { buildPlaylistWorld } from '../models/pipeline/index.js';
import { createLiveRecommender, createWarehouseSink, foldPlaylists, SINK_TOPICS, worldPlaylists, type RecommendStrategy } from '../processors/index.js';
import {
  createStreamRunner, readTopicSnapshot, stopOnSignals,
  type PlaylistEvent, type Stoppable, type StreamRunner,
} from '../streams/index.js';
import { createWarehouseClient } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';
import { loadConfig } from './config.js';
import { connectStreams, warehouseOptions } from './connect.js';

const HELP = `usage: buddies process <warehouse|recommender> [options]

Runs stream processors until SIGTERM or Ctrl-C (each finishes its batch, commits and leaves its group).

  warehouse     listens, feedback, playlists and recommendations into ClickHouse (at-least-once;
                the ReplacingMergeTree tables fold replays away)
  recommender   the live recommender: reads the playlists topic (the playlist table), builds track
                embeddings and the owners' tastes, then for each user's listens and feedback emits
                recommendation lists (exactly-once, to the recommendations topic)

options:
  --group-prefix P     consumer group prefix (default: buddies)
  --strategy S         recommender: buddies (default), popular or random (baselines for online metrics)
  --k K                recommender: playlists per list (default 10)
  --refresh-every N    recommender: listens between two lists for a user (default 5)
  --dims D             recommender: track embedding size (default 32)
  --skip-weight=W      recommender: taste weight of a skipped track (default -0.1; plays count 1)
  --dismiss-weight=W   recommender: taste weight of a dismissed playlist (default -0.3; follows count 1.5)
                       (the taste model's own defaults, -0.5 and -1, cost about a third of the click-through
                       in the simulated demo: README, The main job)
`;

const STRATEGIES: readonly RecommendStrategy[] = ['buddies', 'popular', 'random'];

/** A taste weight that pushes away: a number ≤ 0 (give it as --flag=-0.2). */
function negativeWeight(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n > 0) throw new UsageError(`--${name} must be a number ≤ 0, got '${raw}'`);
  return n;
}

/** Runners leave their groups in parallel: each waits out its fetch in flight. */
async function stopAll(runners: readonly StreamRunner[]): Promise<void> {
  await Promise.all(runners.map((r) => r.stop()));
}


export const processCommand: Command = {
  summary: 'run stream processors (warehouse sink, live recommender) until stopped',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      'group-prefix': { type: 'string', default: 'buddies' },
      strategy: { type: 'string', default: 'buddies' },
      k: { type: 'string' },
      'refresh-every': { type: 'string' },
      dims: { type: 'string' },
      'skip-weight': { type: 'string' },
      'dismiss-weight': { type: 'string' },
    });
    const [which] = positionals;
    if (which !== 'warehouse' && which !== 'recommender') throw new UsageError(which ? `unknown processor '${which}'` : 'missing processor: warehouse or recommender');
    const strategy = values.strategy as RecommendStrategy;
    if (!STRATEGIES.includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}`);
    const k = intFlag('k', values.k, 10);
    const refreshEvery = intFlag('refresh-every', values['refresh-every'], 5);
    const dims = intFlag('dims', values.dims, 32);
    const skipWeight = negativeWeight('skip-weight', values['skip-weight'], -0.1);
    const dismissWeight = negativeWeight('dismiss-weight', values['dismiss-weight'], -0.3);

    const cfg = loadConfig();
    const { kafka, serde, topics } = await connectStreams(cfg, { role: which });
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const prefix = values['group-prefix'];
    const stoppables: Stoppable[] = [];
    let runners: StreamRunner[];

    if (which === 'warehouse') {
      const client = createWarehouseClient(warehouseOptions(cfg));
      runners = SINK_TOPICS.map((topic) => createStreamRunner({
        kafka, serde, input: topic, groupId: `${prefix}.warehouse.${topic}`, guarantee: 'at-least-once', partitionsConcurrently: 3, processor: createWarehouseSink(topic, client), log,
      }));
      stoppables.push({ stop: () => stopAll(runners) }, { stop: () => client.close() });
    } else {
      log('recommender: reading the playlist table');
      const snapshot = await readTopicSnapshot(kafka, topics.name('playlists'));
      const events: PlaylistEvent[] = [];
      for (const m of snapshot) if (m.value) events.push(await serde.decode('playlists', m.value));
      const playlists = worldPlaylists(foldPlaylists(events));
      if (playlists.length === 0) throw new Error(`no playlists in ${topics.name('playlists')}: import some first (buddies import mpd DIR)`);
      log(`recommender: ${playlists.length} playlists; training ${dims}-dimensional track embeddings`);
      const world = await buildPlaylistWorld(playlists, { embeddings: { dims }, buddies: 50, log });
      const live = createLiveRecommender({ world, strategy, k, refreshEvery, taste: { weights: { skip: skipWeight, dismiss: dismissWeight } } });
      const group = `${prefix}.recommender.${strategy}`;
      runners = [
        createStreamRunner({ kafka, serde, input: 'listens', groupId: `${group}.listens`, processor: live.listens, log, fromBeginning: false }),
        createStreamRunner({ kafka, serde, input: 'feedback', groupId: `${group}.feedback`, processor: live.feedback, log, fromBeginning: false }),
      ];
      stoppables.push({ stop: () => stopAll(runners) }, { stop: () => world.close() });
    }
    stopOnSignals(stoppables, { log });
    await Promise.all(runners.map((r) => r.start()));
    log(`${which} running; Ctrl-C to stop`);
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
