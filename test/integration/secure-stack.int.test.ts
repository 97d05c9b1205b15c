import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type BuddiesConfig } from '../../config/index.js';
import {
  applyServiceAcls, passwordFile, secureAdminKafka, secureServiceEnv, secureStackConfig, secureStackUp, SERVICE_ACCESS, SERVICE_USERS,
  type SecureStackInfo, type ServiceUser,
} from '../../stack/index.js';
import { connectStreams, createKafka, ensureTopics, requireTopics, topicNames, type TopicKey, type TopicNames } from '../../streams/index.js';
import { analystWarehouseOptions, createWarehouseClient, warehouseOptions } from '../../warehouse/index.js';
import { testConfig } from '../helpers/config.js';
import { randomId, testPrefix } from '../helpers/services.js';

// Issue 12: the secure local stack (TLS + SCRAM-SHA-512, standard authorizer, per-service ACLs; ClickHouse writer
// with a password and a read-only analyst), started by the real `buddies stack up --secure` code path.
const cfg = testConfig();
let info: SecureStackInfo;
let topics: TopicNames;
const lines: string[] = []; // every kafkajs log line of this test's clients: checked for secrets at the end
const stackLog: string[] = [];

/** A service's configuration exactly as its process would load it from the env file the stack wrote. */
function serviceConfig(user: ServiceUser): BuddiesConfig {
  return loadConfig({ ...secureServiceEnv(cfg, user), BUDDIES_STACK_DIR: cfg.stackDir, BUDDIES_CLIENT_ID: `secure-test-${user}` });
}

const secrets = () => [...SERVICE_USERS, 'admin', 'keystore'].map((u) => readFileSync(passwordFile(cfg, `kafka-${u}`), 'utf8').trim())
  .concat(['writer', 'analyst'].map((u) => readFileSync(passwordFile(cfg, `clickhouse-${u}`), 'utf8').trim()));

/** The kafkajs protocol error types along an error's cause chain. */
function protocolTypes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { type?: string; cause?: unknown; originalError?: unknown } | undefined, i = 0; e && i < 6; e = (e.cause ?? e.originalError) as typeof e, i++) if (e.type) out.push(e.type);
  return out;
}

/** What each service writes in this test: one topic of its own ACL table. */
const OWN_TOPIC: Record<ServiceUser, TopicKey> = {
  processors: 'recommendations', trainer: 'modelAnnouncements', gateway: 'listens', importer: 'playlists', simulator: 'feedback',
};

beforeAll(async () => {
  info = await secureStackUp(cfg, (l) => stackLog.push(l));
  // a fresh topic prefix for this test, with the ACLs the stack gives every prefix it serves
  topics = topicNames(testPrefix());
  const admin = secureAdminKafka(cfg, (l) => lines.push(l));
  await ensureTopics(admin, topics);
  await applyServiceAcls(admin, topics);
});

afterAll(async () => {
  if (!topics) return;
  const admin = secureAdminKafka(cfg, (l) => lines.push(l)).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(topics.prefix)) });
  await admin.disconnect();
});

describe('secure stack (issue 12)', () => {
  it('runs the broker on a SASL_SSL listener and ClickHouse with passwords, printing paths and never a secret', () => {
    expect(info.services.map((s) => [s.name, s.health])).toEqual([['kafka', 'up'], ['clickhouse', 'up']]);
    expect(info.envFiles.size).toBe(SERVICE_USERS.length + 1);
    const printed = [...stackLog, ...info.passwordFiles, ...[...info.envFiles.values()].map((f) => readFileSync(f, 'utf8'))].join('\n');
    for (const s of secrets()) expect(printed).not.toContain(s);
  });

  it('lets each service connect with its own SCRAM user over TLS and write its own topic; the gateway reads the lists in its group', async () => {
    for (const user of SERVICE_USERS) {
      const sc = serviceConfig(user);
      expect(sc.kafka.security).toMatchObject({ protocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512', username: user } });
      expect(SERVICE_ACCESS[user].writes).toContain(OWN_TOPIC[user]);
      // the path of every command: connectStreams builds the client from the configuration
      const { kafka } = await connectStreams(sc, { role: 'secure-test', prefix: topics.prefix, keys: [] });
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic: topics.name(OWN_TOPIC[user]), acks: -1, messages: [{ key: user, value: `from ${user}` }] });
      await producer.disconnect();
    }
    // the processors' exactly-once producers: transactional ids under their application ids
    const processors = (await connectStreams(serviceConfig('processors'), { role: 'secure-test', prefix: topics.prefix, keys: [] })).kafka;
    const txn = processors.producer({ idempotent: true, transactionalId: `buddies.windows-test-${randomId()}`, maxInFlightRequests: 1 });
    await txn.connect();
    const t = await txn.transaction();
    await t.send({ topic: topics.name('interactionWindows'), messages: [{ key: 'u', value: 'window' }] });
    await t.commit();
    await txn.disconnect();
    const { kafka } = await connectStreams(serviceConfig('gateway'), { role: 'secure-test', prefix: topics.prefix, keys: [] });
    // what a service lists is what it may use: requireTopics of its own topics passes
    await requireTopics(kafka, topics, ['listens', 'feedback', 'recommendations']);
    const consumer = kafka.consumer({ groupId: `buddies-gateway-test-${randomId()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.name('recommendations'), fromBeginning: true });
    const got = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no record within 30 s')), 30_000);
      void consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(String(message.value)); } });
    });
    await consumer.disconnect();
    expect(got).toBe('from processors');
  });

  it('refuses a client without credentials, and a wrong password with one clear error', async () => {
    const s = secureStackConfig(cfg);
    const quiet = { logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000, authenticationTimeout: 3000 } as const;
    const listTopics = async (kafka: Kafka) => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        return await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
    };
    // no TLS, no SASL: the TLS listener drops the connection
    await expect(listTopics(new Kafka({ clientId: 'secure-test-anon', brokers: [...s.kafka.brokers], ...quiet }))).rejects.toThrow(/Connection|closed|timeout/i);
    // TLS but no SASL: the SASL_SSL listener answers nothing but ApiVersions before SCRAM
    const tlsOnly = new Kafka({ clientId: 'secure-test-anon-tls', brokers: [...s.kafka.brokers], ssl: { ca: [readFileSync(info.caFile, 'utf8')] }, ...quiet });
    await expect(listTopics(tlsOnly)).rejects.toThrow(/Connection|closed|timeout|authentication/i);
    // a wrong password: the one place that builds clients reports SCRAM's refusal, without the password
    const wrong = { ...s.kafka.security, sasl: { mechanism: 'scram-sha-512' as const, username: 'gateway', password: 'not-the-password-0000' } };
    const admin = createKafka({ brokers: s.kafka.brokers, clientId: 'secure-test-wrong', security: wrong, log: (l) => lines.push(l) }).admin();
    const err = await admin.connect().then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/SASL SCRAM SHA512 authentication failed/);
    expect(err?.message).not.toContain('not-the-password-0000');
  });

  it('answers a write and a read outside a service\'s ACLs with an authorisation error', async () => {
    const { kafka } = await connectStreams(serviceConfig('gateway'), { role: 'secure-test', prefix: topics.prefix, keys: [] });
    const producer = kafka.producer();
    await producer.connect();
    // the gateway writes listens and feedback, never recommendations
    const denied = await producer.send({ topic: topics.name('recommendations'), messages: [{ key: 'u', value: 'forged list' }] }).then(() => undefined, (e: unknown) => e as Error);
    expect(denied?.message).toMatch(/Not authorized to access topics/);
    expect(protocolTypes(denied)).toContain('TOPIC_AUTHORIZATION_FAILED');
    await producer.disconnect();
    // nor may it read what it does not own: the users' pairings are the processors' business
    const consumer = kafka.consumer({ groupId: `buddies-gateway-test-${randomId()}`, retry: { retries: 0 } });
    await consumer.connect();
    const refused = await consumer.subscribe({ topic: topics.name('pairings'), fromBeginning: true }).then(() => undefined, (e: unknown) => e);
    await consumer.disconnect();
    expect(protocolTypes(refused)).toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  it('lets the analyst read events, recommendations and metrics but not insert, alter, drop or open other tables', async () => {
    const s = secureStackConfig(cfg);
    const writer = createWarehouseClient(warehouseOptions(s));
    const eventId = `secure-${randomId()}`;
    await writer.insert({ table: 'listen_events', format: 'JSONEachRow', values: [{ event_id: eventId, user_id: 'u-secure', track_id: 't', playlist_id: 'p', source: 'test', ms_played: 1000, track_duration_ms: 2000, recommendation_id: '', event_time: Math.floor(Date.now() / 1000) }] });
    await writer.close();
    const analyst = createWarehouseClient(analystWarehouseOptions(s));
    try {
      const rows = await (await analyst.query({ query: `SELECT user_id FROM listen_events WHERE event_id = '${eventId}'`, format: 'JSONEachRow' })).json<{ user_id: string }>();
      expect(rows).toEqual([{ user_id: 'u-secure' }]);
      for (const t of ['feedback_events', 'recommendations', 'metrics']) await analyst.query({ query: `SELECT count() FROM ${t}`, format: 'JSONEachRow' });
      const refused = async (query: string) => analyst.command({ query }).then(() => 'accepted', (e: unknown) => (e as Error).message);
      expect(await refused(`INSERT INTO listen_events (event_id) VALUES ('x')`)).toMatch(/readonly/);
      expect(await refused('ALTER TABLE listen_events DELETE WHERE 1')).toMatch(/readonly/);
      expect(await refused('DROP TABLE listen_events')).toMatch(/readonly/);
      expect(await refused(`SELECT count() FROM ${s.clickhouse.database}.runs`)).toMatch(/Access denied/);
      expect(await refused(`SELECT count() FROM remote('127.0.0.1:${s.clickhouse.tcpPort}', ${s.clickhouse.database}, runs)`)).toMatch(/readonly/);
      const limits = await (await analyst.query({ query: "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time', 'max_rows_to_read') ORDER BY name", format: 'JSONEachRow' })).json();
      expect(limits).toEqual([
        { name: 'max_execution_time', value: String(s.clickhouse.analyst.maxExecutionTimeS) },
        { name: 'max_rows_to_read', value: String(s.clickhouse.analyst.maxRowsToRead) },
        { name: 'readonly', value: '1' },
      ]);
      // and the limit cannot be lifted from the client
      expect(await refused('SET max_rows_to_read = 0')).toMatch(/readonly/);
    } finally {
      await analyst.close();
    }
  });

  it('never wrote a password into a log line of its clients', () => {
    const all = lines.join('\n');
    for (const s of secrets()) expect(all).not.toContain(s);
  });
});
