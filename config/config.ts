import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The whole configuration of a Buddies process, read once from the environment by {@link loadConfig}
 * (called by `cli/main.ts` alone) and passed down. No other module reads `process.env`.
 */
export interface BuddiesConfig {
  /** Repository root (where package.json and stack/pom.xml live). */
  readonly rootDir: string;
  /** Cache, data, pid and log folder of the local stack. */
  readonly stackDir: string;
  /** Root of the model registry (registry/): published model versions, one folder per kind and version. */
  readonly modelsDir: string;
  /** State folder of `buddies trainer` (sliding training set, retrain requests, runs and their checkpoints, history). */
  readonly trainerDir: string;
  readonly clientId: string;
  /** Prefix of every topic name (lets tests and parallel demos use their own topics). */
  readonly topicPrefix: string;
  readonly kafka: {
    readonly brokers: readonly string[];
    /** True when KAFKA_BROKERS points elsewhere: `stack up` then only checks it. */
    readonly external: boolean;
    readonly port: number;
    readonly controllerPort: number;
    readonly heap: string;
    /** Replication factor of the topics `topics ensure` creates (1 locally; 3 in production, docs/security.md). */
    readonly replicationFactor: number;
    /** `min.insync.replicas` of those topics (1 locally; 2 in production). */
    readonly minInsyncReplicas: number;
    /** TLS and SASL of every Kafka client (streams/kafka.ts); PLAINTEXT with nothing else locally. */
    readonly security: KafkaSecurityConfig;
  };
  readonly registry: {
    readonly url: string;
    readonly external: boolean;
    readonly port: number;
    readonly heap: string;
    /** HTTP basic-auth credentials of the registry client, when set. */
    readonly auth?: { readonly username: string; readonly password: string };
  };
  /** Port of the /metrics, /healthz and /readyz server of stream processes (0: any free port, logged at start). */
  readonly metricsPort: number;
  /**
   * How far ahead of a processor's clock an event time may lie as it is; further ahead it is clamped to the time
   * of receipt (processors/validation.ts). 1 h; a compressed-time test with a fast simulated clock sets it near 0.
   */
  readonly maxClockSkewMs: number;
  /** The daily Top Picks batch (`buddies trainer top-picks`, docs/trainer.md). */
  readonly topPicks: {
    /** Five-field cron expression, UTC (checked by the command, which names the variable when it does not parse). */
    readonly cron: string;
    /** Users whose taste or pairing moved within this many ms are active and get a daily list. */
    readonly activeMs: number;
  };
  /** The model lifecycle (lifecycle/, `buddies lifecycle`, `buddies models canary`): canary rule and degradation monitor. */
  readonly lifecycle: {
    /** Share of users a canary serves when `buddies models canary` is given no --share. */
    readonly canaryShare: number;
    /** The canary decision rule (lifecycle/decision.ts `CanaryRule` describes it). */
    readonly canary: {
      readonly minImpressions: number;
      /** One-sided significance level of both tests, in (0, 0.5). */
      readonly alpha: number;
      /** Non-inferiority margin as a share of production's rate, in [0, 1). */
      readonly margin: number;
      readonly maxFailedChecks: number;
      readonly deadlineMs: number;
      /** How often the controller checks. */
      readonly intervalMs: number;
    };
    /** The degradation rule (lifecycle/monitor.ts `MonitorOptions` describes it). */
    readonly monitor: {
      readonly recentMs: number;
      readonly baselineMs: number;
      readonly threshold: number;
      readonly minSamples: number;
      readonly intervalMs: number;
      readonly cooldownMs: number;
    };
  };
  /** The gateway (`buddies gateway`, docs/gateway.md). Unset limits take the gateway's defaults. */
  readonly gateway: {
    readonly port: number;
    /** Browser origins allowed besides the gateway's own; `*` any. */
    readonly origins: readonly string[];
    readonly jwt: {
      /** HS256 secret; undefined with no public key either: the local development secret (gateway/auth.ts). */
      readonly secret?: string;
      /** RS256/ES256 public key, PEM text (read from the file when the variable names one). */
      readonly publicKey?: string;
      readonly issuer?: string;
      readonly audience?: string;
    };
    readonly limits: {
      readonly maxFrameBytes?: number;
      readonly sendBufferBytes?: number;
      readonly ratePerS?: number;
      readonly burst?: number;
      readonly heartbeatMs?: number;
      readonly maxConnections?: number;
    };
  };
  readonly clickhouse: {
    readonly url: string;
    readonly external: boolean;
    readonly httpPort: number;
    readonly tcpPort: number;
    readonly database: string;
    /** The writer: migrations, the warehouse sink, the run store. */
    readonly username: string;
    readonly password: string;
    /** The read-only analyst user (docs/security.md): events, recommendations and metrics, with query limits. */
    readonly analyst: {
      readonly username: string;
      readonly password: string;
      /** Database of the analyst's tables (the only one the user may open). */
      readonly database: string;
      /** Query limits of the analyst's profile. */
      readonly maxExecutionTimeS: number;
      readonly maxRowsToRead: number;
    };
  };
}

/** How Kafka clients authenticate and encrypt (`KAFKA_SECURITY_PROTOCOL`, ...). Secrets are never printed. */
export interface KafkaSecurityConfig {
  readonly protocol: 'PLAINTEXT' | 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';
  /** PEM text of the CA(s) that signed the brokers' certificates; undefined: Node's default CAs. */
  readonly ca?: string;
  /** PEM client certificate and key (mutual TLS), both or neither. */
  readonly cert?: string;
  readonly key?: string;
  /** SASL credentials (SASL_SSL, SASL_PLAINTEXT). */
  readonly sasl?: { readonly mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain'; readonly username: string; readonly password: string };
}

/** Environment variables understood by {@link loadConfig}, with their defaults (the README's reference). */
export const CONFIG_VARIABLES: ReadonlyArray<readonly [name: string, fallback: string, meaning: string]> = [
  ['KAFKA_BROKERS', '127.0.0.1:$BUDDIES_KAFKA_PORT', 'comma-separated external brokers; set it and the stack does not start Kafka'],
  ['SCHEMA_REGISTRY_URL', 'http://127.0.0.1:$BUDDIES_REGISTRY_PORT/apis/ccompat/v7', 'external Confluent-compatible registry; set it and the stack does not start Apicurio'],
  ['CLICKHOUSE_URL', 'http://127.0.0.1:$BUDDIES_CLICKHOUSE_HTTP_PORT', 'external ClickHouse HTTP endpoint; set it and the stack does not start ClickHouse'],
  ['CLICKHOUSE_DATABASE', 'buddies', 'database for events, recommendations and metrics'],
  ['CLICKHOUSE_USER', 'default', 'ClickHouse user'],
  ['CLICKHOUSE_PASSWORD', '', 'ClickHouse password (required for a ClickHouse that is not on this machine)'],
  ['CLICKHOUSE_PASSWORD_FILE', '', 'file holding the ClickHouse password (instead of CLICKHOUSE_PASSWORD)'],
  ['CLICKHOUSE_ANALYST_USER', 'analyst', 'read-only ClickHouse user of analysts (events, recommendations, metrics)'],
  ['CLICKHOUSE_ANALYST_PASSWORD', '', 'its password (or CLICKHOUSE_ANALYST_PASSWORD_FILE)'],
  ['CLICKHOUSE_ANALYST_PASSWORD_FILE', '', 'file holding the analyst password'],
  ['CLICKHOUSE_ANALYST_MAX_EXECUTION_TIME', '30', 'analyst query limit: seconds per query'],
  ['CLICKHOUSE_ANALYST_MAX_ROWS_TO_READ', '100000000', 'analyst query limit: rows a query may read'],
  ['KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT', 'PLAINTEXT, SSL, SASL_SSL or SASL_PLAINTEXT'],
  ['KAFKA_SSL_CA_FILE', '', "PEM file of the CA that signed the brokers' certificates (default: the system CAs)"],
  ['KAFKA_SSL_CERT_FILE', '', 'PEM client certificate for mutual TLS (with KAFKA_SSL_KEY_FILE)'],
  ['KAFKA_SSL_KEY_FILE', '', 'PEM private key of that certificate'],
  ['KAFKA_SASL_MECHANISM', 'SCRAM-SHA-512', 'SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN'],
  ['KAFKA_SASL_USERNAME', '', 'SASL user of this process (one per service, docs/security.md)'],
  ['KAFKA_SASL_PASSWORD', '', 'its password (or KAFKA_SASL_PASSWORD_FILE)'],
  ['KAFKA_SASL_PASSWORD_FILE', '', 'file holding the SASL password'],
  ['SCHEMA_REGISTRY_USERNAME', '', 'basic-auth user of the schema registry'],
  ['SCHEMA_REGISTRY_PASSWORD', '', 'its password (or SCHEMA_REGISTRY_PASSWORD_FILE)'],
  ['SCHEMA_REGISTRY_PASSWORD_FILE', '', 'file holding the registry password'],
  ['BUDDIES_REPLICATION_FACTOR', '1', 'replication factor of the topics topics ensure creates (3 in production)'],
  ['BUDDIES_MIN_INSYNC_REPLICAS', '1', 'min.insync.replicas of those topics (2 in production)'],
  ['BUDDIES_STACK_DIR', '<repo>/.stack', 'downloads, data, logs and pid files of the local stack'],
  ['BUDDIES_MODELS_DIR', '<repo>/.buddies/models', 'root of the model registry: published track embeddings and BPR models (buddies models)'],
  ['BUDDIES_TRAINER_DIR', '<BUDDIES_MODELS_DIR>/.trainer', 'state folder of buddies trainer: its sliding training set, checkpoints and retrain requests'],
  ['BUDDIES_KAFKA_PORT', '9092', 'local broker port'],
  ['BUDDIES_KAFKA_CONTROLLER_PORT', '9093', 'local KRaft controller port'],
  ['BUDDIES_KAFKA_HEAP', '1g', 'local broker -Xmx'],
  ['BUDDIES_REGISTRY_PORT', '8081', 'local Apicurio Registry port'],
  ['BUDDIES_REGISTRY_HEAP', '512m', 'local registry -Xmx'],
  ['BUDDIES_CLICKHOUSE_HTTP_PORT', '8123', 'local ClickHouse HTTP port'],
  ['BUDDIES_CLICKHOUSE_TCP_PORT', '9000', 'local ClickHouse native port'],
  ['BUDDIES_TOPIC_PREFIX', '', 'prefix of every topic name'],
  ['BUDDIES_CLIENT_ID', 'buddies', 'Kafka client id'],
  ['BUDDIES_METRICS_PORT', '0', 'port of /metrics, /healthz and /readyz of buddies process (0: any free port, logged)'],
  ['BUDDIES_MAX_CLOCK_SKEW_MS', '3600000', 'listens and feedback stamped further ahead of the processors\' clock are clamped to their time of receipt (a fast device or simulated clock)'],
  ['BUDDIES_GATEWAY_PORT', '8080', 'port of buddies gateway: WebSocket /v1/stream, HTTP API, /metrics, dashboard'],
  ['BUDDIES_GATEWAY_ORIGINS', '', "comma-separated browser origins the gateway accepts besides its own ('*': any)"],
  ['BUDDIES_JWT_SECRET', '(local development secret)', 'HS256 secret of gateway tokens, at least 32 bytes; unset with no public key, a public local-only secret is used'],
  ['BUDDIES_JWT_PUBLIC_KEY', '', 'RS256/ES256 public key of gateway tokens: PEM text or the path of a PEM file'],
  ['BUDDIES_JWT_ISSUER', '', 'required iss of gateway tokens when set'],
  ['BUDDIES_JWT_AUDIENCE', '', 'required aud of gateway tokens when set'],
  ['BUDDIES_GATEWAY_MAX_FRAME_BYTES', '65536', 'largest client frame the gateway handles'],
  ['BUDDIES_GATEWAY_SEND_BUFFER_BYTES', '262144', 'bytes a connection may have in flight before pushes wait and coalesce'],
  ['BUDDIES_GATEWAY_RATE', '20', 'client messages per second per connection (token bucket rate)'],
  ['BUDDIES_GATEWAY_BURST', '40', 'client messages per connection in a burst (token bucket size)'],
  ['BUDDIES_GATEWAY_HEARTBEAT_MS', '30000', 'gateway ping interval; a connection silent for two is closed'],
  ['BUDDIES_GATEWAY_MAX_CONNECTIONS', '100000', 'open connections per gateway instance'],
  ['BUDDIES_CANARY_SHARE', '0.1', 'share of users a BPR canary serves when buddies models canary has no --share'],
  ['BUDDIES_CANARY_MIN_IMPRESSIONS', '2000', 'canary rule: impressions per arm before any decision'],
  ['BUDDIES_CANARY_ALPHA', '0.05', 'canary rule: one-sided significance level of its z-tests'],
  ['BUDDIES_CANARY_MARGIN', '0.1', "canary rule: non-inferiority margin, a share of production's rate"],
  ['BUDDIES_CANARY_MAX_FAILED_CHECKS', '3', 'canary rule: failed checks in a row that roll a canary back'],
  ['BUDDIES_CANARY_DEADLINE_MS', '21600000', 'canary rule: past this age a check without a conclusion fails'],
  ['BUDDIES_CANARY_INTERVAL_MS', '60000', 'how often buddies lifecycle checks the canary'],
  ['BUDDIES_MONITOR_RECENT_MS', '3600000', 'degradation monitor: the recent window'],
  ['BUDDIES_MONITOR_BASELINE_MS', '86400000', 'degradation monitor: the baseline window before it'],
  ['BUDDIES_MONITOR_THRESHOLD', '0.2', 'degradation monitor: relative drop below the baseline that triggers retraining'],
  ['BUDDIES_MONITOR_MIN_SAMPLES', '500', 'degradation monitor: impressions (or plays) needed in each window'],
  ['BUDDIES_MONITOR_INTERVAL_MS', '300000', 'how often buddies lifecycle checks the online metrics'],
  ['BUDDIES_TOP_PICKS_CRON', '0 6 * * *', 'when buddies trainer top-picks recomputes the daily lists: a five-field cron expression, UTC'],
  ['BUDDIES_TOP_PICKS_ACTIVE_MS', '2592000000', 'Top Picks: users whose taste or pairing moved within this many ms (30 days) get a daily list'],
  ['BUDDIES_MONITOR_COOLDOWN_MS', '21600000', 'degradation monitor: no second retraining trigger within this'],
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 65535) throw new ConfigError(`${name}=${raw} is not a TCP port`);
  return n;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, ok: (n: number) => boolean, want: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !ok(n)) throw new ConfigError(`${name}=${raw} is not ${want}`);
  return n;
}

/** The lifecycle settings (defaults equal lifecycle/'s DEFAULT_CANARY_RULE and DEFAULT_MONITOR_OPTIONS; a test checks it). */
function lifecycleConfig(env: NodeJS.ProcessEnv): BuddiesConfig['lifecycle'] {
  const share = (n: number) => n > 0 && n < 1;
  const count = (n: number) => Number.isInteger(n) && n >= 1;
  const ms = (n: number) => Number.isInteger(n) && n >= 1;
  return {
    canaryShare: num(env, 'BUDDIES_CANARY_SHARE', 0.1, share, 'a share in (0, 1)'),
    canary: {
      minImpressions: num(env, 'BUDDIES_CANARY_MIN_IMPRESSIONS', 2000, count, 'a positive integer'),
      alpha: num(env, 'BUDDIES_CANARY_ALPHA', 0.05, (n) => n > 0 && n < 0.5, 'a significance level in (0, 0.5)'),
      margin: num(env, 'BUDDIES_CANARY_MARGIN', 0.1, (n) => n >= 0 && n < 1, 'a share in [0, 1)'),
      maxFailedChecks: num(env, 'BUDDIES_CANARY_MAX_FAILED_CHECKS', 3, count, 'a positive integer'),
      deadlineMs: num(env, 'BUDDIES_CANARY_DEADLINE_MS', 6 * 3_600_000, ms, 'a positive number of milliseconds'),
      intervalMs: num(env, 'BUDDIES_CANARY_INTERVAL_MS', 60_000, ms, 'a positive number of milliseconds'),
    },
    monitor: {
      recentMs: num(env, 'BUDDIES_MONITOR_RECENT_MS', 3_600_000, ms, 'a positive number of milliseconds'),
      baselineMs: num(env, 'BUDDIES_MONITOR_BASELINE_MS', 24 * 3_600_000, ms, 'a positive number of milliseconds'),
      threshold: num(env, 'BUDDIES_MONITOR_THRESHOLD', 0.2, share, 'a share in (0, 1)'),
      minSamples: num(env, 'BUDDIES_MONITOR_MIN_SAMPLES', 500, count, 'a positive integer'),
      intervalMs: num(env, 'BUDDIES_MONITOR_INTERVAL_MS', 300_000, ms, 'a positive number of milliseconds'),
      cooldownMs: num(env, 'BUDDIES_MONITOR_COOLDOWN_MS', 6 * 3_600_000, (n) => Number.isInteger(n) && n >= 0, 'a number of milliseconds ≥ 0'),
    },
  };
}

/** The gateway's settings; a limit left unset is undefined (the gateway's DEFAULT_GATEWAY_LIMITS apply). */
function gatewayConfig(env: NodeJS.ProcessEnv): BuddiesConfig['gateway'] {
  const text = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const positive = (name: string, integer = true): number | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new ConfigError(`${name}=${raw} is not a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  const secret = text('BUDDIES_JWT_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) throw new ConfigError(`BUDDIES_JWT_SECRET has ${Buffer.byteLength(secret)} bytes: HS256 needs at least 32`);
  let publicKey = text('BUDDIES_JWT_PUBLIC_KEY');
  if (publicKey !== undefined && !publicKey.includes('-----BEGIN')) {
    try {
      publicKey = readFileSync(publicKey, 'utf8');
    } catch {
      throw new ConfigError(`BUDDIES_JWT_PUBLIC_KEY=${publicKey} is neither PEM text nor a readable file`);
    }
  }
  return {
    port: port(env, 'BUDDIES_GATEWAY_PORT', 8080, 0),
    origins: (text('BUDDIES_GATEWAY_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    jwt: { secret, publicKey, issuer: text('BUDDIES_JWT_ISSUER'), audience: text('BUDDIES_JWT_AUDIENCE') },
    limits: {
      maxFrameBytes: positive('BUDDIES_GATEWAY_MAX_FRAME_BYTES'),
      sendBufferBytes: positive('BUDDIES_GATEWAY_SEND_BUFFER_BYTES'),
      ratePerS: positive('BUDDIES_GATEWAY_RATE', false),
      burst: positive('BUDDIES_GATEWAY_BURST'),
      heartbeatMs: positive('BUDDIES_GATEWAY_HEARTBEAT_MS'),
      maxConnections: positive('BUDDIES_GATEWAY_MAX_CONNECTIONS'),
    },
  };
}

/** A secret from `NAME` or from the file `NAME_FILE` (one trailing newline dropped); never both. */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') throw new ConfigError(`set ${name} or ${name}_FILE, not both`);
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`${name}_FILE=${file} is not a readable file`);
    }
  }
  return direct === '' ? undefined : direct;
}

/** PEM text of the file a variable names (undefined when unset). */
function pemFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[name];
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${name}=${file} is not a readable file`);
  }
  if (!text.includes('-----BEGIN')) throw new ConfigError(`${name}=${file} is not a PEM file`);
  return text;
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_SSL', 'SASL_PLAINTEXT'] as const;
const MECHANISMS = { 'SCRAM-SHA-512': 'scram-sha-512', 'SCRAM-SHA-256': 'scram-sha-256', PLAIN: 'plain' } as const;

function kafkaSecurity(env: NodeJS.ProcessEnv): KafkaSecurityConfig {
  const raw = (env.KAFKA_SECURITY_PROTOCOL || 'PLAINTEXT').toUpperCase();
  const protocol = PROTOCOLS.find((p) => p === raw);
  if (!protocol) throw new ConfigError(`KAFKA_SECURITY_PROTOCOL=${env.KAFKA_SECURITY_PROTOCOL} is not one of ${PROTOCOLS.join(', ')}`);
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const ca = pemFile(env, 'KAFKA_SSL_CA_FILE');
  const cert = pemFile(env, 'KAFKA_SSL_CERT_FILE');
  const key = pemFile(env, 'KAFKA_SSL_KEY_FILE');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('set both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE, or neither');
  if (!tls && (ca || cert)) throw new ConfigError(`KAFKA_SSL_* files need KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is ${protocol})`);
  const username = env.KAFKA_SASL_USERNAME || undefined;
  const password = secret(env, 'KAFKA_SASL_PASSWORD');
  if (!protocol.startsWith('SASL_')) {
    if (username !== undefined || password !== undefined) throw new ConfigError(`KAFKA_SASL_* credentials need KAFKA_SECURITY_PROTOCOL=SASL_SSL (it is ${protocol})`);
    return { protocol, ca, cert, key };
  }
  const mechName = (env.KAFKA_SASL_MECHANISM || 'SCRAM-SHA-512').toUpperCase();
  const mechanism = MECHANISMS[mechName as keyof typeof MECHANISMS];
  if (!mechanism) throw new ConfigError(`KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM} is not one of ${Object.keys(MECHANISMS).join(', ')}`);
  if (username === undefined) throw new ConfigError(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_USERNAME`);
  if (password === undefined) throw new ConfigError(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`);
  return { protocol, ca, cert, key, sasl: { mechanism, username, password } };
}

/** True for a URL on this machine (where the local stack's empty default password is allowed). */
function isLoopback(u: string): boolean {
  const host = new URL(u).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

function url(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name}=${raw} is not a URL`);
  }
  return raw.replace(/\/+$/, '');
}

/** The repository root: the nearest folder above this module holding Buddies' package.json. */
export function findRootDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'buddies') return dir;
    const up = dirname(dir);
    if (up === dir) throw new ConfigError(`cannot find the buddies package.json above ${from}`);
    dir = up;
  }
}

/**
 * Reads and validates the configuration from `env` (the process environment, handed in by the entry point).
 * Throws {@link ConfigError} on a bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv): BuddiesConfig {
  const rootDir = findRootDir();
  const kafkaPort = port(env, 'BUDDIES_KAFKA_PORT', 9092);
  const registryPort = port(env, 'BUDDIES_REGISTRY_PORT', 8081);
  const chHttp = port(env, 'BUDDIES_CLICKHOUSE_HTTP_PORT', 8123);
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) if (!/^[^:\s]+:\d+$/.test(b)) throw new ConfigError(`KAFKA_BROKERS entry '${b}' is not host:port`);
  const registryUrl = url(env, 'SCHEMA_REGISTRY_URL');
  const clickhouseUrl = url(env, 'CLICKHOUSE_URL');
  const database = env.CLICKHOUSE_DATABASE || 'buddies';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new ConfigError(`CLICKHOUSE_DATABASE=${database} is not a plain identifier`);
  const chUrl = clickhouseUrl ?? `http://127.0.0.1:${chHttp}`;
  const chPassword = secret(env, 'CLICKHOUSE_PASSWORD') ?? '';
  if (chPassword === '' && !isLoopback(chUrl)) throw new ConfigError(`CLICKHOUSE_URL=${chUrl} is not on this machine: set CLICKHOUSE_PASSWORD or CLICKHOUSE_PASSWORD_FILE (empty passwords are for the local stack only)`);
  const analystUser = env.CLICKHOUSE_ANALYST_USER || 'analyst';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(analystUser)) throw new ConfigError(`CLICKHOUSE_ANALYST_USER=${analystUser} is not a plain identifier`);
  const registryUser = env.SCHEMA_REGISTRY_USERNAME || undefined;
  const registryPassword = secret(env, 'SCHEMA_REGISTRY_PASSWORD');
  if ((registryUser === undefined) !== (registryPassword === undefined)) throw new ConfigError('set both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or _FILE), or neither');
  const replicationFactor = num(env, 'BUDDIES_REPLICATION_FACTOR', 1, (n) => Number.isInteger(n) && n >= 1 && n <= 32, 'a replication factor (1 to 32)');
  const minInsyncReplicas = num(env, 'BUDDIES_MIN_INSYNC_REPLICAS', Math.min(replicationFactor, 1), (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  if (minInsyncReplicas > replicationFactor) throw new ConfigError(`BUDDIES_MIN_INSYNC_REPLICAS=${minInsyncReplicas} exceeds BUDDIES_REPLICATION_FACTOR=${replicationFactor}: no write could ever succeed`);
  return {
    rootDir,
    stackDir: resolve(env.BUDDIES_STACK_DIR || join(rootDir, '.stack')),
    modelsDir: resolve(env.BUDDIES_MODELS_DIR || join(rootDir, '.buddies', 'models')),
    trainerDir: resolve(env.BUDDIES_TRAINER_DIR || join(env.BUDDIES_MODELS_DIR || join(rootDir, '.buddies', 'models'), '.trainer')),
    clientId: env.BUDDIES_CLIENT_ID || 'buddies',
    metricsPort: port(env, 'BUDDIES_METRICS_PORT', 0, 0),
    maxClockSkewMs: num(env, 'BUDDIES_MAX_CLOCK_SKEW_MS', 3_600_000, (n) => Number.isInteger(n) && n >= 0, 'a number of milliseconds ≥ 0'),
    gateway: gatewayConfig(env),
    lifecycle: lifecycleConfig(env),
    topPicks: {
      cron: (env.BUDDIES_TOP_PICKS_CRON ?? '').trim() || '0 6 * * *',
      activeMs: num(env, 'BUDDIES_TOP_PICKS_ACTIVE_MS', 30 * 24 * 3_600_000, (n) => Number.isInteger(n) && n >= 1, 'a positive number of milliseconds'),
    },
    topicPrefix: env.BUDDIES_TOPIC_PREFIX ?? '',
    kafka: {
      brokers: brokers.length > 0 ? brokers : [`127.0.0.1:${kafkaPort}`],
      external: brokers.length > 0,
      port: kafkaPort,
      controllerPort: port(env, 'BUDDIES_KAFKA_CONTROLLER_PORT', 9093),
      heap: env.BUDDIES_KAFKA_HEAP || '1g',
      replicationFactor,
      minInsyncReplicas,
      security: kafkaSecurity(env),
    },
    registry: {
      url: registryUrl ?? `http://127.0.0.1:${registryPort}/apis/ccompat/v7`,
      external: registryUrl !== undefined,
      port: registryPort,
      heap: env.BUDDIES_REGISTRY_HEAP || '512m',
      ...(registryUser !== undefined && registryPassword !== undefined ? { auth: { username: registryUser, password: registryPassword } } : {}),
    },
    clickhouse: {
      url: chUrl,
      external: clickhouseUrl !== undefined,
      httpPort: chHttp,
      tcpPort: port(env, 'BUDDIES_CLICKHOUSE_TCP_PORT', 9000),
      database,
      username: env.CLICKHOUSE_USER || 'default',
      password: chPassword,
      analyst: {
        username: analystUser,
        password: secret(env, 'CLICKHOUSE_ANALYST_PASSWORD') ?? '',
        database: `${database}_analyst`,
        maxExecutionTimeS: num(env, 'CLICKHOUSE_ANALYST_MAX_EXECUTION_TIME', 30, (n) => Number.isInteger(n) && n >= 1, 'a positive number of seconds'),
        maxRowsToRead: num(env, 'CLICKHOUSE_ANALYST_MAX_ROWS_TO_READ', 100_000_000, (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
      },
    },
  };
}
