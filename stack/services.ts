import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { BuddiesConfig } from '../config/index.js';
import type { StartOptions } from './processes.js';

/** Versions resolved from Maven Central (stack/pom.xml holds the same defaults). */
export const KAFKA_VERSION = '3.9.1';
export const APICURIO_VERSION = '2.6.13.Final';

export type ServiceName = 'kafka' | 'clickhouse' | 'registry';

/** One service of the local stack: how to prepare, launch and probe it. */
export interface ServiceDef {
  readonly name: ServiceName;
  /** What clients connect to. */
  readonly address: string;
  /** Configured to an external endpoint: never started or stopped by the stack. */
  readonly external: boolean;
  readonly pidFile: string;
  readonly logFile: string;
  readonly startTimeoutMs: number;
  /** TCP port the local service listens on (checked for a foreign owner before starting). */
  readonly port: number;
  /** Writes config files and initialises storage; idempotent. */
  prepare(): void;
  launch(): StartOptions;
  /** True when the service answers a real request. Never throws. */
  health(): Promise<boolean>;
}

export interface StackPaths {
  readonly root: string;
  readonly run: string;
  readonly logs: string;
  readonly kafkaLibs: string;
  readonly kafkaHome: string;
  readonly registryHome: string;
  readonly registryJar: string;
  readonly clickhouseHome: string;
  readonly downloads: string;
}

export function stackPaths(cfg: BuddiesConfig): StackPaths {
  const root = cfg.stackDir;
  const registryHome = join(root, 'registry');
  return {
    root,
    run: join(root, 'run'),
    logs: join(root, 'logs'),
    kafkaHome: join(root, 'kafka'),
    kafkaLibs: join(root, 'kafka', 'libs'),
    registryHome,
    registryJar: join(registryHome, 'app', `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`),
    clickhouseHome: join(root, 'clickhouse'),
    downloads: join(root, 'downloads'),
  };
}

async function httpOk(url: string, expect?: (body: string) => boolean): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    return expect ? expect(await res.text()) : true;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    sock.setTimeout(1000);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('timeout', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Kafka answers an ApiVersions request: a real protocol round trip, not just an open port.
 * Request v0 (no client software fields), correlation id 1; a healthy broker answers error_code 0.
 */
export function kafkaApiVersionsOk(broker: string, tls?: { readonly ca: string }): Promise<boolean> {
  const idx = broker.lastIndexOf(':');
  const host = broker.slice(0, idx);
  const port = Number(broker.slice(idx + 1));
  const clientId = Buffer.from('buddies-health');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2); // version 0
  body.writeInt32BE(1, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return new Promise((resolve) => {
    // ApiVersions is answered before SASL authentication (KIP-43), so this works on a SASL_SSL listener too
    const sock = tls ? tlsConnect({ host, port, ca: tls.ca, servername: /^[\d.]+$/.test(host) ? undefined : host }) : connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(2000, () => done(false));
    sock.once('error', () => done(false));
    sock.once(tls ? 'secureConnect' : 'connect', () => sock.write(frame));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 10) done(buf.readInt32BE(4) === 1 && buf.readInt16BE(8) === 0);
    });
  });
}

export function kafkaService(cfg: BuddiesConfig): ServiceDef {
  const p = stackPaths(cfg);
  const props = join(p.kafkaHome, 'server.properties');
  const dataDir = join(p.kafkaHome, 'data');
  const log4j = join(p.kafkaHome, 'log4j.properties');
  const { port, controllerPort } = cfg.kafka;
  return {
    name: 'kafka',
    address: cfg.kafka.brokers.join(','),
    external: cfg.kafka.external,
    pidFile: join(p.run, 'kafka.pid'),
    logFile: join(p.logs, 'kafka.log'),
    startTimeoutMs: 90_000,
    port,
    prepare() {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(props, [
        '# Written by `buddies stack up`: single node, KRaft combined mode, replication factor 1.',
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        ...localBrokerSettings(dataDir),
        '',
      ].join('\n'));
      writeFileSync(log4j, [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.org.apache.kafka.clients=WARN',
        'log4j.logger.kafka.log.LogCleaner=WARN',
        'log4j.logger.state.change.logger=WARN',
        '',
      ].join('\n'));
    },
    launch() {
      const jvm = [`-Xmx${cfg.kafka.heap}`, '-Xms128m', '-XX:+UseG1GC', '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${log4j}`, `-Dkafka.logs.dir=${p.logs}`, '-cp', `${p.kafkaLibs}/*`];
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        // First start: format the log dir. The wrapper script runs the formatter then execs the broker,
        // so a single pid covers both and a failure shows in the same log.
        const clusterId = randomBytes(16).toString('base64url');
        const fmt = ['java', ...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props].map(shq).join(' ');
        const run = ['java', ...jvm, 'kafka.Kafka', props].map(shq).join(' ');
        return { command: 'bash', args: ['-c', `${fmt} && exec ${run}`], logFile: this.logFile, pidFile: this.pidFile, marker: props };
      }
      return { command: 'java', args: [...jvm, 'kafka.Kafka', props], logFile: this.logFile, pidFile: this.pidFile, marker: props };
    },
    health: () => kafkaApiVersionsOk(cfg.kafka.brokers[0] ?? `127.0.0.1:${port}`),
  };
}

export function registryService(cfg: BuddiesConfig): ServiceDef {
  const p = stackPaths(cfg);
  const db = join(p.registryHome, 'data', 'registry');
  return {
    name: 'registry',
    address: cfg.registry.url,
    external: cfg.registry.external,
    pidFile: join(p.run, 'registry.pid'),
    logFile: join(p.logs, 'registry.log'),
    startTimeoutMs: 120_000,
    port: cfg.registry.port,
    prepare() {
      mkdirSync(join(p.registryHome, 'data'), { recursive: true });
    },
    launch() {
      return {
        command: 'java',
        args: [`-Xmx${cfg.registry.heap}`, '-XX:+UseSerialGC', '-Djava.awt.headless=true', '-jar', p.registryJar],
        cwd: p.registryHome,
        env: {
          ...process.env,
          // Apicurio's SQL storage on a file-backed H2 database: schemas survive a restart.
          REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${db};DB_CLOSE_ON_EXIT=FALSE`,
          QUARKUS_HTTP_PORT: String(cfg.registry.port),
          QUARKUS_HTTP_HOST: '127.0.0.1',
          QUARKUS_LOG_CONSOLE_COLOR: 'false',
          QUARKUS_DATASOURCE_JDBC_MIN_SIZE: '2',
          QUARKUS_DATASOURCE_JDBC_INITIAL_SIZE: '2',
        },
        logFile: this.logFile,
        pidFile: this.pidFile,
        marker: p.registryJar,
      };
    },
    health: () => httpOk(`${cfg.registry.url}/subjects`),
  };
}

/** Where Debian puts the server binary; PATH is tried first. */
export const CLICKHOUSE_BINARIES = ['clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'];

/** What the secure stack (stack/secure.ts) puts in place of the default users and adds to the server config. */
export interface ClickhouseSecurity {
  /** The whole users.xml. */
  readonly usersXml: string;
  /** Extra elements inside <yandex> of config.xml (the analyst's remote_servers). */
  readonly extraConfig: string;
}

export function clickhouseService(cfg: BuddiesConfig, binary = 'clickhouse-server', security?: ClickhouseSecurity): ServiceDef {
  const p = stackPaths(cfg);
  const home = p.clickhouseHome;
  const configFile = join(home, 'config.xml');
  return {
    name: 'clickhouse',
    address: cfg.clickhouse.url,
    external: cfg.clickhouse.external,
    pidFile: join(p.run, 'clickhouse.pid'),
    logFile: join(p.logs, 'clickhouse.log'),
    startTimeoutMs: 60_000,
    port: cfg.clickhouse.httpPort,
    prepare() {
      for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(home, d), { recursive: true });
      writeFileSync(configFile, `<?xml version="1.0"?>
<!-- Written by \`buddies stack up\`. Works with Debian's 18.16 server and current ones. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>${p.logs}/clickhouse-server.log</log>
    <errorlog>${p.logs}/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <http_port>${cfg.clickhouse.httpPort}</http_port>
  <tcp_port>${cfg.clickhouse.tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${home}/data/</path>
  <tmp_path>${home}/tmp/</tmp_path>
  <user_files_path>${home}/user_files/</user_files_path>
  <format_schema_path>${home}/format_schemas/</format_schema_path>
  <users_config>${home}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
${security?.extraConfig ?? ''}</yandex>
`, security ? { mode: 0o600 } : undefined);
      if (security) {
        writeFileSync(join(home, 'users.xml'), security.usersXml, { mode: 0o600 });
        return;
      }
      writeFileSync(join(home, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <!-- 18.16 needs it for LowCardinality columns; newer servers accept and ignore it -->
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    </default>
  </profiles>
  <users>
    <default>
      <password>${cfg.clickhouse.password}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
  </quotas>
</yandex>
`);
    },
    launch() {
      return { command: binary, args: [`--config-file=${configFile}`], cwd: home, logFile: this.logFile, pidFile: this.pidFile, marker: configFile };
    },
    health: () => httpOk(`${cfg.clickhouse.url}/ping`, (b) => b.trim() === 'Ok.'),
  };
}

function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The server.properties lines every local single-node broker shares (the default stack's and the secure one's):
 * its data folder, one replica of everything, no auto-created topics, quick group joins.
 */
export function localBrokerSettings(dataDir: string): string[] {
  return [
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=6',
    'group.initial.rebalance.delay.ms=0',
    'group.min.session.timeout.ms=3000',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
  ];
}
