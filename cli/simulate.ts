import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorldModel, type WorldOptions } from '../data/index.js';
import { formatMetricsTable, recordOnlineMetrics, runLiveSimulation, type TasteShift } from '../simulator/index.js';
import { connectStreams, createTypedProducer, requireTopics } from '../streams/index.js';
import { createWarehouseClient, warehouseOptions } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, numberFlag, parseFlags } from './flags.js';

const HELP = `usage: buddies simulate --world DIR [--users N] [--rate R] [--duration D] [--seed S] [options]

Simulated users of a generated world (buddies generate) use the live system: they look at the lists on the
recommendations topic, open, play through or skip, follow or dismiss according to how well each playlist
matches their hidden taste; with nothing to look at they play tracks of their own taste; curators make
playlists; newcomers arrive cold. Events go to Kafka (listens, feedback, playlists). The run stops by itself
after --duration and prints online metrics per model version (click-through, follow rate, listen-through),
also written to ClickHouse (table metrics) when it answers.

  --world DIR        a generated world (its world.json; the same world imported with buddies import mpd)
  --users N          simulated users (default 200)
  --rate R           events per second, at most (default 200)
  --duration D       run time: 90, 90s, 5m (default 60s)
  --seed S           users, personas and reactions (default 1)
  --speed X          simulated time per real time (default 1440: a simulated day per minute)
  --shift F:T:X@S    after S real seconds, X (0..1) of every user's interest in community F moves to T
                     (repeatable)
`;

function duration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--duration ${raw}: expected e.g. 90, 90s, 5m`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000);
}

function shift(raw: string): TasteShift {
  const m = /^(\d+):(\d+):(\d*\.?\d+)@(\d+(?:\.\d+)?)$/.exec(raw);
  if (!m) throw new UsageError(`--shift ${raw}: expected FROM:TO:FRACTION@SECONDS, e.g. 3:7:0.8@30`);
  const fraction = Number(m[3]);
  if (fraction < 0 || fraction > 1) throw new UsageError('--shift fraction must be within 0..1');
  return { from: Number(m[1]), to: Number(m[2]), fraction, atMs: Number(m[4]) * 1000 };
}


export const simulateCommand: Command = {
  summary: 'simulated users producing live events and reacting to recommendations',
  help: HELP,
  async run(argv, ctx) {
    const values = parseFlags(argv, {
      world: { type: 'string' }, users: { type: 'string' }, rate: { type: 'string' },
      duration: { type: 'string', default: '60s' }, seed: { type: 'string' }, speed: { type: 'string' },
      shift: { type: 'string', multiple: true, default: [] },
    });
    if (!values.world) throw new UsageError('--world DIR is required (a world from buddies generate)');
    const worldFile = join(values.world, 'world.json');
    if (!existsSync(worldFile)) throw new UsageError(`${worldFile} not found: generate a world first (buddies generate --out ${values.world} ...)`);
    const users = intFlag('users', values.users, 200);
    const rate = intFlag('rate', values.rate, 200);
    const durationMs = duration(values.duration);
    const seed = intFlag('seed', values.seed, 1, 0);
    const speed = numberFlag('speed', values.speed, 1440, 1e-6);
    const shifts = values.shift.map(shift);

    const { config } = JSON.parse(readFileSync(worldFile, 'utf8')) as { config: WorldOptions };
    const model = createWorldModel(config);
    const cfg = ctx.config;
    const { kafka, serde, topics } = await connectStreams(cfg, { role: 'simulate', keys: ['listens', 'feedback', 'playlists', 'recommendations'] });
    await requireTopics(kafka, topics, ['listens', 'feedback', 'playlists', 'recommendations']);
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    let lastLog = 0;
    try {
      const r = await runLiveSimulation({
        kafka, serde, producer, model, users, seed, rate, durationMs, speed, shifts,
        onTick: ({ elapsedMs, events, lists }) => {
          if (elapsedMs - lastLog < 5000) return;
          lastLog = elapsedMs;
          process.stderr.write(`simulate: ${Math.round(elapsedMs / 1000)}/${Math.round(durationMs / 1000)} s, ${events} events (${Math.round(events / (elapsedMs / 1000))}/s), ${lists} lists received\n`);
        },
      });
      process.stdout.write(`simulate: ${r.events} events in ${r.seconds.toFixed(1)} s (${r.byTopic.listens} listens, ${r.byTopic.feedback} feedback, ${r.byTopic.playlists} playlists), ${r.lists} recommendation lists received\n${formatMetricsTable(r.metrics)}\n`);
      const client = createWarehouseClient(warehouseOptions(cfg));
      await recordOnlineMetrics(client, r.metrics).finally(() => client.close()).catch((err: unknown) => process.stderr.write(`simulate: metrics not written to ClickHouse: ${err instanceof Error ? err.message : String(err)}\n`));
      return 0;
    } finally {
      await producer.disconnect();
    }
  },
};
