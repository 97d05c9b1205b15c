import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { BuddiesConfig } from '../config/index.js';
import { createKafka, ensureTopics, topicNames } from '../streams/index.js';
import { createWarehouseClient, migrateWarehouse, warehouseOptions } from '../warehouse/index.js';
import { applyServiceAcls, KAFKA_ADMIN_USER, SERVICE_USERS, type ServiceUser } from './acls.js';
import { isAlive, readPidFile } from './processes.js';
import { clickhouseService, kafkaApiVersionsOk, localBrokerSettings, stackPaths, type ServiceDef } from './services.js';
import { findClickhouseBinary, setupStack, SetupError } from './setup.js';
import { servicesStatus, startServices, stopServices, type ServiceStatus } from './stack.js';

/**
 * The secure stack (`buddies stack up --secure`) runs beside the default one: its own folder (`<stack dir>/secure`)
 * and ports (the default ones + this offset: Kafka 9192 and controller 9193, ClickHouse 8223 and 9100). It shares the
 * default stack's Kafka jars and its schema registry.
 */
export const SECURE_PORT_OFFSET = 100;

/** The ClickHouse cluster through which the analyst's tables read the writer's (see {@link analystTablesSql}). */
const ANALYST_SOURCE_CLUSTER = 'buddies_analyst_source';

/** The warehouse tables an analyst may read: the events, the recommendations and the metrics. */
export const ANALYST_TABLES = ['listen_events', 'feedback_events', 'recommendations', 'metrics'] as const;

/** The ClickHouse writer of the secure stack (the default stack's is `default` with no password). */
const SECURE_WRITER = 'buddies';

type Log = (line: string) => void;

export interface SecurePaths {
  readonly root: string;
  readonly tls: string;
  /** PEM of the local CA: what clients trust (KAFKA_SSL_CA_FILE). */
  readonly caFile: string;
  readonly credentials: string;
  readonly env: string;
  /** Java client properties of the super user, for Kafka's own tools (kafka-configs, kafka-acls). */
  readonly adminProperties: string;
}

export function securePaths(cfg: BuddiesConfig): SecurePaths {
  const root = join(cfg.stackDir, 'secure');
  return {
    root,
    tls: join(root, 'tls'),
    caFile: join(root, 'tls', 'ca.pem'),
    credentials: join(root, 'credentials'),
    env: join(root, 'env'),
    adminProperties: join(root, 'kafka', 'admin.properties'),
  };
}

/** The file holding a generated password (mode 600). */
export function passwordFile(cfg: BuddiesConfig, name: string): string {
  return join(securePaths(cfg).credentials, `${name}.password`);
}

const kafkaPasswordName = (user: string) => `kafka-${user}`;

/**
 * The configuration of the secure stack's own services, derived from `cfg`: its folder, its ports, and the
 * ClickHouse writer and analyst with their generated passwords (read when the files exist).
 */
export function secureStackConfig(cfg: BuddiesConfig): BuddiesConfig {
  const port = cfg.kafka.port + SECURE_PORT_OFFSET;
  const chHttp = cfg.clickhouse.httpPort + SECURE_PORT_OFFSET;
  const read = (name: string) => (existsSync(passwordFile(cfg, name)) ? readFileSync(passwordFile(cfg, name), 'utf8').trim() : '');
  return {
    ...cfg,
    stackDir: securePaths(cfg).root,
    kafka: {
      ...cfg.kafka,
      brokers: [`127.0.0.1:${port}`],
      external: false,
      port,
      controllerPort: cfg.kafka.controllerPort + SECURE_PORT_OFFSET,
      heap: '512m',
      security: { protocol: 'SASL_SSL', ...(existsSync(securePaths(cfg).caFile) ? { ca: readFileSync(securePaths(cfg).caFile, 'utf8') } : {}), sasl: { mechanism: 'scram-sha-512', username: KAFKA_ADMIN_USER, password: read(kafkaPasswordName(KAFKA_ADMIN_USER)) } },
    },
    clickhouse: {
      ...cfg.clickhouse,
      url: `http://127.0.0.1:${chHttp}`,
      external: false,
      httpPort: chHttp,
      tcpPort: cfg.clickhouse.tcpPort + SECURE_PORT_OFFSET,
      username: SECURE_WRITER,
      password: read('clickhouse-writer'),
      analyst: { ...cfg.clickhouse.analyst, password: read('clickhouse-analyst') },
    },
  };
}

/**
 * The environment of one service's process on the secure stack: paths of files, never a secret itself
 * (`env $(cat .stack/secure/env/gateway.env) buddies gateway`).
 */
export function secureServiceEnv(cfg: BuddiesConfig, user: ServiceUser | typeof KAFKA_ADMIN_USER): Record<string, string> {
  const s = secureStackConfig(cfg);
  return {
    KAFKA_BROKERS: s.kafka.brokers.join(','),
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SSL_CA_FILE: securePaths(cfg).caFile,
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: passwordFile(cfg, kafkaPasswordName(user)),
    SCHEMA_REGISTRY_URL: cfg.registry.url,
    CLICKHOUSE_URL: s.clickhouse.url,
    CLICKHOUSE_USER: SECURE_WRITER,
    CLICKHOUSE_PASSWORD_FILE: passwordFile(cfg, 'clickhouse-writer'),
    CLICKHOUSE_ANALYST_USER: s.clickhouse.analyst.username,
    CLICKHOUSE_ANALYST_PASSWORD_FILE: passwordFile(cfg, 'clickhouse-analyst'),
  };
}

function run(cmd: string, args: readonly string[], what: string): string {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new SetupError(`${what} failed (${cmd} ${r.error ? r.error.message : `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}

/** A password file, created once with 32 random hex characters (no quoting issues in JAAS or XML), mode 600. */
function ensurePassword(cfg: BuddiesConfig, name: string): string {
  const file = passwordFile(cfg, name);
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const value = readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9._~+/=-]{12,}$/.test(value)) throw new SetupError(`${file} must hold a password of at least 12 characters from [A-Za-z0-9._~+/=-]`);
  return value;
}

/**
 * The local CA and the broker's certificate (CN=buddies-broker, SAN 127.0.0.1 and localhost), made once with
 * openssl; the broker's key and certificate go into a PKCS12 keystore. The broker also presents it as a client to
 * its own controller listener (mutual TLS): that is the principal User:CN=buddies-broker.
 */
function ensureCertificates(cfg: BuddiesConfig, log: Log): string {
  const p = securePaths(cfg);
  mkdirSync(p.tls, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(p.tls, n);
  const keystore = f('broker.p12');
  if (existsSync(keystore) && existsSync(p.caFile)) return keystore;
  log(`secure stack: generating a local CA and the broker certificate in ${p.tls}`);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', p.caFile, '-days', '825', '-subj', '/CN=buddies-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], 'openssl (CA)');
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('broker.key'), '-out', f('broker.csr'), '-subj', '/CN=buddies-broker'], 'openssl (broker key)');
  writeFileSync(f('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n');
  run('openssl', ['x509', '-req', '-in', f('broker.csr'), '-CA', p.caFile, '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('broker.pem'), '-days', '825', '-extfile', f('broker.ext')], 'openssl (broker certificate)');
  run('openssl', ['pkcs12', '-export', '-in', f('broker.pem'), '-inkey', f('broker.key'), '-certfile', p.caFile, '-name', 'broker', '-out', keystore, '-passout', `file:${passwordFile(cfg, 'kafka-keystore')}`], 'openssl (keystore)'); // the password from its file: never on a command line
  for (const n of ['ca.key', 'broker.key', 'broker.p12']) chmodSync(f(n), 0o600);
  return keystore;
}

/** One `--add-scram` argument per user, for the first format of the log dir. */
function scramArgs(users: ReadonlyMap<string, string>): string[] {
  return [...users].flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
}

/** The broker: a SASL_SSL listener (SCRAM-SHA-512) for clients, an mTLS controller listener, the standard authorizer. */
function secureKafkaService(cfg: BuddiesConfig, s: BuddiesConfig, secrets: { keystore: string; keystorePassword: string; users: ReadonlyMap<string, string> }): ServiceDef {
  const base = stackPaths(cfg);
  const p = stackPaths(s);
  const props = join(p.kafkaHome, 'server.properties');
  const dataDir = join(p.kafkaHome, 'data');
  const log4j = join(p.kafkaHome, 'log4j.properties');
  const { port, controllerPort } = s.kafka;
  const ca = securePaths(cfg).caFile;
  const adminPassword = secrets.users.get(KAFKA_ADMIN_USER) as string;
  const jvm = [`-Xmx${s.kafka.heap}`, '-Xms128m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`, `-Dkafka.logs.dir=${p.logs}`, '-cp', `${base.kafkaLibs}/*`];
  return {
    name: 'kafka',
    address: `${s.kafka.brokers[0]} (SASL_SSL)`,
    external: false,
    pidFile: join(p.run, 'kafka.pid'),
    logFile: join(p.logs, 'kafka.log'),
    startTimeoutMs: 90_000,
    port,
    prepare() {
      mkdirSync(dataDir, { recursive: true });
      mkdirSync(p.logs, { recursive: true });
      const jaas = (user: string, password: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`;
      writeFileSync(props, [
        '# Written by `buddies stack up --secure`: single node, KRaft, TLS + SCRAM-SHA-512, standard authorizer. Holds secrets: mode 600.',
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=SASL_SSL://127.0.0.1:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL',
        'inter.broker.listener.name=SASL_SSL',
        'sasl.enabled.mechanisms=SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
        `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas(KAFKA_ADMIN_USER, adminPassword)}`,
        'ssl.keystore.type=PKCS12',
        `ssl.keystore.location=${secrets.keystore}`,
        `ssl.keystore.password=${secrets.keystorePassword}`,
        `ssl.key.password=${secrets.keystorePassword}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${ca}`,
        // the controller listener takes only the broker's own certificate
        'listener.name.controller.ssl.client.auth=required',
        'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        `super.users=User:${KAFKA_ADMIN_USER};User:CN=buddies-broker`,
        'allow.everyone.if.no.acl.found=false',
        ...localBrokerSettings(dataDir),
        '',
      ].join('\n'), { mode: 0o600 });
      chmodSync(props, 0o600);
      writeFileSync(log4j, [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.org.apache.kafka.clients=WARN',
        'log4j.logger.kafka.log.LogCleaner=WARN',
        'log4j.logger.state.change.logger=WARN',
        // denied requests are logged at INFO by the authorizer: keep them, they are what an operator looks for
        'log4j.logger.kafka.authorizer.logger=INFO',
        '',
      ].join('\n'));
      writeFileSync(securePaths(cfg).adminProperties, [
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        `sasl.jaas.config=${jaas(KAFKA_ADMIN_USER, adminPassword)}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${ca}`,
        '',
      ].join('\n'), { mode: 0o600 });
      chmodSync(securePaths(cfg).adminProperties, 0o600);
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        // First start: format the log dir with every SCRAM user (KRaft bootstrap records), synchronously, so the
        // passwords are on a command line only for these seconds and never in the daemon's
        const clusterId = randomBytes(16).toString('base64url');
        const r = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scramArgs(secrets.users)], { encoding: 'utf8' });
        if (r.status !== 0) throw new SetupError(`formatting the secure broker's log dir failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ').replace(/password=[^,\]]+/g, 'password=***')}`);
      }
    },
    launch() {
      return { command: 'java', args: [...jvm, 'kafka.Kafka', props], logFile: this.logFile, pidFile: this.pidFile, marker: props };
    },
    health: () => kafkaApiVersionsOk(s.kafka.brokers[0] as string, existsSync(ca) ? { ca: readFileSync(ca, 'utf8') } : undefined),
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * users.xml of the secure ClickHouse (18.16 has no CREATE USER): the writer with a password, and the analyst:
 * readonly=1 (no INSERT, ALTER, DROP, or changing its own limits), only its own database, with a time and a rows
 * limit. Passwords are stored as SHA-256.
 */
export function secureUsersXml(s: BuddiesConfig): string {
  const a = s.clickhouse.analyst;
  const local = '<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>';
  return `<?xml version="1.0"?>
<!-- Written by the secure stack (buddies stack up, secure mode) from its password files; rewritten at every start. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    </default>
    <analyst>
      <readonly>1</readonly>
      <max_execution_time>${a.maxExecutionTimeS}</max_execution_time>
      <max_rows_to_read>${a.maxRowsToRead}</max_rows_to_read>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_result_rows>1000000</max_result_rows>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
      <!-- the analyst's tables read the writer's through the loopback cluster, never in-process (see docs/security.md) -->
      <prefer_localhost_replica>0</prefer_localhost_replica>
    </analyst>
  </profiles>
  <users>
    <${SECURE_WRITER}>
      <password_sha256_hex>${sha256(s.clickhouse.password)}</password_sha256_hex>
      ${local}
      <profile>default</profile>
      <quota>default</quota>
    </${SECURE_WRITER}>
    <${a.username}>
      <password_sha256_hex>${sha256(a.password)}</password_sha256_hex>
      ${local}
      <profile>analyst</profile>
      <quota>default</quota>
      <allow_databases><database>${a.database}</database></allow_databases>
    </${a.username}>
  </users>
  <quotas>
    <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
  </quotas>
</yandex>
`;
}

/** The loopback cluster the analyst's Distributed tables read through, as the writer (config.xml, mode 600). */
function analystClusterXml(s: BuddiesConfig): string {
  return `  <remote_servers>
    <${ANALYST_SOURCE_CLUSTER}><shard><replica><host>127.0.0.1</host><port>${s.clickhouse.tcpPort}</port><user>${SECURE_WRITER}</user><password>${s.clickhouse.password}</password></replica></shard></${ANALYST_SOURCE_CLUSTER}>
  </remote_servers>
`;
}

/**
 * The analyst's database: one Distributed table per readable table, over the loopback cluster. ClickHouse 18.16
 * checks database access for every table a query touches, views included, so a view over the writer's database
 * would be refused; a Distributed table sends the query to the server again as the writer, with the analyst's
 * settings (readonly, limits) attached. On current ClickHouse, `GRANT SELECT ON db.table TO analyst` does the same.
 */
export function analystTablesSql(s: BuddiesConfig): string[] {
  const { database } = s.clickhouse;
  const adb = s.clickhouse.analyst.database;
  return [
    `CREATE DATABASE IF NOT EXISTS ${adb}`,
    // made again at every `up`: a Distributed table copies its source's columns when created, and migrations add some
    ...ANALYST_TABLES.flatMap((t) => [`DROP TABLE IF EXISTS ${adb}.${t}`, `CREATE TABLE ${adb}.${t} AS ${database}.${t} ENGINE = Distributed(${ANALYST_SOURCE_CLUSTER}, ${database}, ${t})`]),
  ];
}

/** The services of the secure stack (Kafka and ClickHouse; the registry is the default stack's). */
export function secureServices(cfg: BuddiesConfig, clickhouseBinary?: string): ServiceDef[] {
  const s = secureStackConfig(cfg);
  const read = (name: string) => (existsSync(passwordFile(cfg, name)) ? readFileSync(passwordFile(cfg, name), 'utf8').trim() : '');
  const users = new Map([KAFKA_ADMIN_USER, ...SERVICE_USERS].map((u) => [u, read(kafkaPasswordName(u))] as const));
  const kafka = secureKafkaService(cfg, s, { keystore: join(securePaths(cfg).tls, 'broker.p12'), keystorePassword: read('kafka-keystore'), users });
  const ch = clickhouseService(s, clickhouseBinary ?? findClickhouseBinary(), { usersXml: secureUsersXml(s), extraConfig: analystClusterXml(s) });
  return [kafka, { ...ch, address: `${s.clickhouse.url} (password)` }];
}

/** A Kafka client of the secure stack's super user (topics and ACLs). */
export function secureAdminKafka(cfg: BuddiesConfig, log: Log): Kafka {
  const s = secureStackConfig(cfg);
  return createKafka({ brokers: s.kafka.brokers, clientId: `${cfg.clientId}-secure-setup`, security: s.kafka.security, log });
}

export interface SecureStackInfo {
  readonly services: readonly ServiceStatus[];
  readonly caFile: string;
  /** Per service: the env file that runs it on the secure stack. */
  readonly envFiles: ReadonlyMap<string, string>;
  readonly passwordFiles: readonly string[];
}

/**
 * `buddies stack up --secure`: certificates and passwords (made once), the broker and ClickHouse (started when not
 * running), then, idempotently, the topics of the configured prefix with every service's ACLs, the warehouse schema
 * and the analyst's tables. Returns where everything is; no secret is printed.
 */
export async function secureStackUp(cfg: BuddiesConfig, log: Log): Promise<SecureStackInfo> {
  // the Kafka jars and clickhouse-server; the registry is the default stack's business
  const { clickhouseBinary } = setupStack({
    ...cfg, kafka: { ...cfg.kafka, external: false }, clickhouse: { ...cfg.clickhouse, external: false }, registry: { ...cfg.registry, external: true },
  }, log);
  const p = securePaths(cfg);
  for (const d of [p.root, p.credentials, p.env]) mkdirSync(d, { recursive: true, mode: 0o700 });
  chmodSync(p.credentials, 0o700);
  const names = ['kafka-keystore', ...[KAFKA_ADMIN_USER, ...SERVICE_USERS].map(kafkaPasswordName), 'clickhouse-writer', 'clickhouse-analyst'];
  for (const n of names) ensurePassword(cfg, n);
  ensureCertificates(cfg, log);
  const services = secureServices(cfg, clickhouseBinary);
  // ClickHouse reloads users.xml while running: rewriting it applies a changed password file without a restart
  if (isAlive(readPidFile(services[1]!.pidFile))) services[1]!.prepare();
  await startServices(services, log);

  const s = secureStackConfig(cfg);
  const topics = topicNames(cfg.topicPrefix);
  const admin = secureAdminKafka(cfg, log);
  const ensured = await ensureTopics(admin, topics, undefined, { replicationFactor: cfg.kafka.replicationFactor, minInsyncReplicas: cfg.kafka.minInsyncReplicas });
  const acls = await applyServiceAcls(admin, topics);
  log(`secure stack: ${ensured.created.length} topics created, ${ensured.existing.length} already there; ${acls} ACL bindings for ${SERVICE_USERS.join(', ')}`);
  await migrateWarehouse(warehouseOptions(s));
  const writer = createWarehouseClient(warehouseOptions(s), 'default');
  try {
    for (const q of analystTablesSql(s)) await writer.command({ query: q });
  } finally {
    await writer.close();
  }
  log(`secure stack: warehouse ${s.clickhouse.database} migrated; analyst tables in ${s.clickhouse.analyst.database}`);

  const envFiles = new Map<string, string>();
  for (const u of [...SERVICE_USERS, KAFKA_ADMIN_USER] as const) {
    const file = join(p.env, `${u}.env`);
    writeFileSync(file, `${Object.entries(secureServiceEnv(cfg, u)).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
    envFiles.set(u, file);
  }
  return { services: await servicesStatus(services), caFile: p.caFile, envFiles, passwordFiles: names.map((n) => passwordFile(cfg, n)) };
}

export async function secureStackDown(cfg: BuddiesConfig, log: Log): Promise<void> {
  await stopServices(secureServices(cfg), log);
}

export async function secureStackStatus(cfg: BuddiesConfig): Promise<ServiceStatus[]> {
  return servicesStatus(secureServices(cfg));
}
