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
  };
  readonly registry: {
    readonly url: string;
    readonly external: boolean;
    readonly port: number;
    readonly heap: string;
  };
  /** Port of the /metrics, /healthz and /readyz server of stream processes (0: any free port, logged at start). */
  readonly metricsPort: number;
  readonly clickhouse: {
    readonly url: string;
    readonly external: boolean;
    readonly httpPort: number;
    readonly tcpPort: number;
    readonly database: string;
    readonly username: string;
    readonly password: string;
  };
}

/** Environment variables understood by {@link loadConfig}, with their defaults (the README's reference). */
export const CONFIG_VARIABLES: ReadonlyArray<readonly [name: string, fallback: string, meaning: string]> = [
  ['KAFKA_BROKERS', '127.0.0.1:$BUDDIES_KAFKA_PORT', 'comma-separated external brokers; set it and the stack does not start Kafka'],
  ['SCHEMA_REGISTRY_URL', 'http://127.0.0.1:$BUDDIES_REGISTRY_PORT/apis/ccompat/v7', 'external Confluent-compatible registry; set it and the stack does not start Apicurio'],
  ['CLICKHOUSE_URL', 'http://127.0.0.1:$BUDDIES_CLICKHOUSE_HTTP_PORT', 'external ClickHouse HTTP endpoint; set it and the stack does not start ClickHouse'],
  ['CLICKHOUSE_DATABASE', 'buddies', 'database for events, recommendations and metrics'],
  ['CLICKHOUSE_USER', 'default', 'ClickHouse user'],
  ['CLICKHOUSE_PASSWORD', '', 'ClickHouse password'],
  ['BUDDIES_STACK_DIR', '<repo>/.stack', 'downloads, data, logs and pid files of the local stack'],
  ['BUDDIES_MODELS_DIR', '<repo>/.buddies/models', 'root of the model registry: published track embeddings and BPR models (buddies models)'],
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
  return {
    rootDir,
    stackDir: resolve(env.BUDDIES_STACK_DIR || join(rootDir, '.stack')),
    modelsDir: resolve(env.BUDDIES_MODELS_DIR || join(rootDir, '.buddies', 'models')),
    clientId: env.BUDDIES_CLIENT_ID || 'buddies',
    metricsPort: port(env, 'BUDDIES_METRICS_PORT', 0, 0),
    topicPrefix: env.BUDDIES_TOPIC_PREFIX ?? '',
    kafka: {
      brokers: brokers.length > 0 ? brokers : [`127.0.0.1:${kafkaPort}`],
      external: brokers.length > 0,
      port: kafkaPort,
      controllerPort: port(env, 'BUDDIES_KAFKA_CONTROLLER_PORT', 9093),
      heap: env.BUDDIES_KAFKA_HEAP || '1g',
    },
    registry: {
      url: registryUrl ?? `http://127.0.0.1:${registryPort}/apis/ccompat/v7`,
      external: registryUrl !== undefined,
      port: registryPort,
      heap: env.BUDDIES_REGISTRY_HEAP || '512m',
    },
    clickhouse: {
      url: clickhouseUrl ?? `http://127.0.0.1:${chHttp}`,
      external: clickhouseUrl !== undefined,
      httpPort: chHttp,
      tcpPort: port(env, 'BUDDIES_CLICKHOUSE_TCP_PORT', 9000),
      database,
      username: env.CLICKHOUSE_USER || 'default',
      password: env.CLICKHOUSE_PASSWORD ?? '',
    },
  };
}
