import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorldModel, type WorldOptions } from '../data/index.js';
import { formatMetricsTable, GatewayError, recordOnlineMetrics, runLiveSimulation, type SimulationTransport, type TasteShift } from '../simulator/index.js';
import { connectStreams, createTypedProducer, requireTopics } from '../streams/index.js';
import { createWarehouseClient, warehouseOptions } from '../warehouse/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, intFlag, numberFlag, parseFlags } from './flags.js';
import { gatewayAccess, gatewayReachable } from './gateway-access.js';

const HELP = `usage: buddies simulate --world DIR [--users N] [--rate R] [--duration D] [--seed S] [options]

Simulated users of a generated world (buddies generate) use the live system: they look at their latest
recommendation list, open, play through or skip, follow or dismiss according to how well each playlist
matches their hidden taste; with nothing to look at they play tracks of their own taste; curators make
playlists; newcomers arrive cold. The run stops by itself after --duration and prints online metrics per
model version (click-through, follow rate, listen-through), also written to ClickHouse (table metrics) when
it answers.

Through the gateway (--via gateway, the default when one answers at the gateway URL), each user is an app:
a WebSocket connection with a token of their own (signed with BUDDIES_JWT_SECRET, else the local development
secret), lists pushed to it, listens and feedback sent over it and acknowledged once Kafka has them. With
--via kafka (the default when no gateway answers) users read the recommendations topic and write listens and
feedback to Kafka themselves. Curators' playlists go to the playlists topic either way (the gateway has no
catalogue API).

  --world DIR        a generated world (its world.json; the same world imported with buddies import mpd)
  --users N          simulated users (default 200)
  --rate R           events per second, at most (default 200)
  --duration D       run time: 90, 90s, 5m (default 60s)
  --seed S           users, personas and reactions (default 1)
  --speed X          simulated time per real time (default 1440: a simulated day per minute)
  --shift F:T:X@S    once a user's simulated clock passes S x --speed seconds from the start (S real seconds
                     at the nominal speed; later when --rate binds, as users' clocks then lag), X (0..1) of
                     every user's interest in community F moves to T
                     (repeatable)
  --via gateway|kafka  how users reach the system (default: gateway when one answers, else kafka)
  --gateway-url U    the gateway's stream URL (default ws://127.0.0.1:$BUDDIES_GATEWAY_PORT/v1/stream)
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
      shift: { type: 'string', multiple: true, default: [] }, via: { type: 'string' }, 'gateway-url': { type: 'string' },
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
    const asked = values.via === undefined ? undefined : choiceFlag('via', values.via, ['gateway', 'kafka'] as const);
    const access = asked === 'kafka' ? undefined : gatewayAccess(ctx.config, values['gateway-url']);

    const { config } = JSON.parse(readFileSync(worldFile, 'utf8')) as { config: WorldOptions };
    const model = createWorldModel(config);
    const cfg = ctx.config;
    let via: SimulationTransport = { kind: 'kafka' };
    if (access) {
      const minting = await access.token('simulate-probe').then(() => undefined, (err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (minting !== undefined) {
        if (asked === 'gateway') throw new InputError(`simulated users cannot sign their tokens: ${minting}`);
        process.stderr.write(`simulate: simulated users cannot sign gateway tokens (${minting}); they read and write Kafka directly (--via kafka)\n`);
      } else if (await gatewayReachable(access.httpUrl)) via = { kind: 'gateway', url: access.url, token: (userId) => access.token(userId), rate: access.rate, heartbeatTimeoutMs: 3 * access.heartbeatMs };
      else if (asked === 'gateway') throw new InputError(`no gateway answers at ${access.httpUrl}/healthz: start it with 'buddies gateway' (or pass --gateway-url, or --via kafka)`);
      else process.stderr.write(`simulate: no gateway at ${access.url}; users read and write Kafka directly (--via kafka). Start 'buddies gateway' for the app path.\n`);
    }
    if (via.kind === 'gateway') process.stderr.write(`simulate: ${users} users connect to ${via.url}\n`);
    const { kafka, serde, topics } = await connectStreams(cfg, { role: 'simulate', keys: ['listens', 'feedback', 'playlists', 'recommendations'] });
    await requireTopics(kafka, topics, ['listens', 'feedback', 'playlists', 'recommendations']);
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    let lastLog = 0;
    try {
      const r = await runLiveSimulation({
        kafka, serde, producer, model, users, seed, rate, durationMs, speed, shifts, via,
        onConnected: ({ users: n, ms }) => process.stderr.write(`simulate: ${n} users connected to the gateway in ${(ms / 1000).toFixed(1)} s\n`),
        onTick: ({ elapsedMs, events, lists, failed }) => {
          if (elapsedMs - lastLog < 5000) return;
          lastLog = elapsedMs;
          process.stderr.write(`simulate: ${Math.round(elapsedMs / 1000)}/${Math.round(durationMs / 1000)} s, ${events} events (${Math.round(events / (elapsedMs / 1000))}/s), ${lists} lists received${via.kind === 'gateway' ? `, ${failed} not accepted` : ''}\n`);
        },
      }).catch((err: unknown) => {
        // a connection the gateway refused: the code's message, and what to check
        if (err instanceof GatewayError) throw new InputError(`the gateway at ${via.kind === 'gateway' ? via.url : '?'} refused a simulated user (${err.code}): ${err.message}${err.code === 'bad_token' ? ' (BUDDIES_JWT_SECRET must be the gateway\'s)' : ''}`);
        throw err;
      });
      const how = r.via === 'gateway' ? 'pushed by the gateway' : 'read from Kafka';
      const failures = Object.entries(r.failed).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`simulate: ${r.events} events in ${r.seconds.toFixed(1)} s (${r.byTopic.listens} listens, ${r.byTopic.feedback} feedback, ${r.byTopic.playlists} playlists), ${r.lists} recommendation lists ${how}`
        + `${r.via === 'gateway' ? `; not accepted by the gateway: ${failures || 'none'}; reconnects ${r.reconnects}` : ''}\n${formatMetricsTable(r.metrics)}\n`);
      if (r.foreignLists > 0) throw new InputError(`the gateway pushed ${r.foreignLists} lists of other users to simulated users`);
      const client = createWarehouseClient(warehouseOptions(cfg));
      await recordOnlineMetrics(client, r.metrics).finally(() => client.close()).catch((err: unknown) => process.stderr.write(`simulate: metrics not written to ClickHouse: ${err instanceof Error ? err.message : String(err)}\n`));
      return 0;
    } finally {
      await producer.disconnect();
    }
  },
};
