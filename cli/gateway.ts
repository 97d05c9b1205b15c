import { join } from 'node:path';
import type { BuddiesConfig } from '../config/index.js';
import {
  AuthConfigError, authFromSettings, createGateway, DEFAULT_GATEWAY_LIMITS, mintingSecret, mintToken, serviceChecks, STREAM_PATH,
  type Gateway, type MetricsSource, type StaticAssets,
} from '../gateway/index.js';
import { DashboardNotBuiltError, loadDashboardAssets } from '../gateway/dashboard/assets.js';
import { createLiveMetrics } from '../gateway/live-metrics.js';
import { connectStreams, requireTopics, stopOnSignals } from '../streams/index.js';
import { createWarehouseClient, warehouseOptions } from '../warehouse/index.js';
import { InputError, UsageError, wantsHelp, type Command } from './command.js';
import { intFlag, parseFlags, parseFlagsAndArgs } from './flags.js';

const L = DEFAULT_GATEWAY_LIMITS;

const HELP = `usage: buddies gateway [--port P] [--host H] [--group-prefix G]
       buddies gateway token USER [--operator] [--ttl-s N]

Runs the gateway until SIGTERM or Ctrl-C: WebSocket push of each user's latest recommendation list at
ws://HOST:PORT${STREAM_PATH}, the HTTP API (GET /v1/users/ID/recommendations, POST /v1/events), /healthz,
/readyz, /metrics, and the dashboard under /dashboard/. At start it reads the recommendations topic from the
beginning of its retention into its table of latest lists, then follows it; run as many instances as you like,
each reads the whole topic (no sticky sessions). Protocol, codes and limits: docs/gateway.md.

Tokens are JWTs: HS256 with BUDDIES_JWT_SECRET, or RS256/ES256 with BUDDIES_JWT_PUBLIC_KEY; with neither set,
a public local development secret (anyone can mint tokens with it: for your own machine only).

options:
  --port P           port (default BUDDIES_GATEWAY_PORT, 8080; 0: any free port, printed)
  --host H           address to listen on (default 0.0.0.0)
  --group-prefix G   prefix of this instance's consumer group (default buddies-gateway; a random suffix is added)

token: prints a token for USER signed with the configured secret (or the local one), for simulated users,
the dashboard and curl:
  --operator         role operator: the metrics channel and every user's list
  --ttl-s N          lifetime in seconds (default 3600)

limits (environment): BUDDIES_GATEWAY_MAX_FRAME_BYTES (${L.maxFrameBytes}), BUDDIES_GATEWAY_SEND_BUFFER_BYTES
(${L.sendBufferBytes}), BUDDIES_GATEWAY_RATE (${L.ratePerS}/s), BUDDIES_GATEWAY_BURST (${L.burst}),
BUDDIES_GATEWAY_HEARTBEAT_MS (${L.heartbeatMs}), BUDDIES_GATEWAY_MAX_CONNECTIONS (${L.maxConnections}),
BUDDIES_GATEWAY_ORIGINS (browser origins besides its own).

Exit: 0 stopped by a signal, 1 failure (a service down, topics missing, port in use), 2 usage.
`;

export interface GatewayFlags {
  readonly port: number;
  readonly host: string;
  readonly groupPrefix: string;
}

/** The pluggable parts a caller may hand in (the live metrics source, the dashboard's files). */
export interface GatewayExtras {
  readonly metrics?: MetricsSource;
  readonly assets?: StaticAssets;
}

/** Connects to Kafka and the registry, checks the topics and starts a gateway with the configuration's settings. */
export async function startGateway(flags: GatewayFlags, config: BuddiesConfig, log: (line: string) => void, extras: GatewayExtras = {}): Promise<Gateway> {
  let auth;
  try {
    auth = authFromSettings(config.gateway.jwt);
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
  const { kafka, serde, topics } = await connectStreams(config, { role: 'gateway', keys: ['listens', 'feedback', 'recommendations'] });
  await requireTopics(kafka, topics, ['listens', 'feedback', 'recommendations']);
  if (auth.localSecret) log('gateway: no BUDDIES_JWT_SECRET or BUDDIES_JWT_PUBLIC_KEY: using the public local development secret (for your own machine only)');
  try {
    return await createGateway({
      kafka, serde, schemasDir: join(config.rootDir, 'schemas'), auth,
      port: flags.port, host: flags.host, origins: config.gateway.origins, groupPrefix: flags.groupPrefix,
      limits: Object.fromEntries(Object.entries(config.gateway.limits).filter(([, v]) => v !== undefined)),
      readiness: serviceChecks({ kafka, registryUrl: config.registry.url, clickhouseUrl: config.clickhouse.url }),
      metrics: extras.metrics, assets: extras.assets, log,
    });
  } catch (err) {
    if (err instanceof AuthConfigError || err instanceof RangeError) throw new InputError(err.message);
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new InputError(`port ${flags.port} is already in use: pick a free one (--port, or BUDDIES_GATEWAY_PORT; 0 takes any)`);
    if (code === 'EACCES') throw new InputError(`port ${flags.port} needs privileges: pick one above 1023 (--port, or BUDDIES_GATEWAY_PORT)`);
    throw err;
  }
}

async function printToken(argv: string[], config: BuddiesConfig): Promise<number> {
  const { values, positionals } = parseFlagsAndArgs(argv, { operator: { type: 'boolean' }, 'ttl-s': { type: 'string' } });
  const [userId, extra] = positionals;
  if (userId === undefined || userId === '') throw new UsageError('token: missing USER (the token\'s sub)');
  if (extra !== undefined) throw new UsageError(`token: unexpected argument '${extra}'`);
  const ttlS = intFlag('ttl-s', values['ttl-s'], 3600, 1, 366 * 24 * 3600);
  let secret: string;
  try {
    secret = mintingSecret(config.gateway.jwt);
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
  const token = await mintToken({
    secret, userId, role: values.operator ? 'operator' : 'user', ttlS, issuer: config.gateway.jwt.issuer, audience: config.gateway.jwt.audience,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

export const gatewayCommand: Command = {
  summary: 'run the WebSocket/HTTP gateway (push of lists and metrics, events API); `gateway token USER` mints a token',
  help: HELP,
  handlesHelp: true,
  async run(argv, ctx) {
    if (wantsHelp(argv) || argv[0] === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (argv[0] === 'token') return printToken(argv.slice(1), ctx.config);
    const values = parseFlags(argv, { port: { type: 'string' }, host: { type: 'string' }, 'group-prefix': { type: 'string' } });
    const flags: GatewayFlags = {
      port: intFlag('port', values.port, ctx.config.gateway.port, 0, 65535),
      host: values.host ?? '0.0.0.0',
      groupPrefix: values['group-prefix'] ?? 'buddies-gateway',
    };
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(`gateway: reading the latest lists from ${ctx.config.topicPrefix}buddies.recommendations.v1 ...`);
    let assets: StaticAssets;
    try {
      assets = loadDashboardAssets();
    } catch (err) {
      if (err instanceof DashboardNotBuiltError) throw new InputError(err.message);
      throw err;
    }
    const client = createWarehouseClient(warehouseOptions(ctx.config));
    const metrics = createLiveMetrics({ client, database: ctx.config.clickhouse.database, log });
    let gateway: Gateway;
    try {
      gateway = await startGateway(flags, ctx.config, log, { metrics, assets });
    } catch (err) {
      await metrics.close();
      await client.close();
      throw err;
    }
    metrics.registerOn(gateway.registry);
    stopOnSignals([{ stop: async () => { await gateway.close(); await metrics.close(); await client.close(); } }], { log });
    const ws = gateway.url.replace(/^http/, 'ws');
    log(`gateway running on ${gateway.url}: WebSocket ${ws}${STREAM_PATH}, /metrics, /healthz, /readyz, /dashboard/; Ctrl-C to stop`);
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
