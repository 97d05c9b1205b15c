import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

// Issue 12: TLS and SCRAM for Kafka, registry and ClickHouse credentials, replication, all from the environment
const dir = mkdtempSync(join(tmpdir(), 'buddies-sec-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('security configuration', () => {
  it('is PLAINTEXT with replication 1 and no credentials by default (the local stack)', () => {
    const c = loadConfig({});
    expect(c.kafka.security).toEqual({ protocol: 'PLAINTEXT', ca: undefined, cert: undefined, key: undefined });
    expect([c.kafka.replicationFactor, c.kafka.minInsyncReplicas]).toEqual([1, 1]);
    expect(c.registry.auth).toBeUndefined();
    expect(c.clickhouse.password).toBe('');
    expect(c.clickhouse.analyst).toMatchObject({ username: 'analyst', database: 'buddies_analyst', maxExecutionTimeS: 30 });
  });

  it('reads SASL_SSL with a CA file and the password from a file (one trailing newline dropped)', () => {
    const c = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'sasl_ssl', KAFKA_SSL_CA_FILE: file('ca.pem', PEM), KAFKA_SASL_USERNAME: 'gateway', KAFKA_SASL_PASSWORD_FILE: file('pw', 's3cret-value\n'),
    });
    expect(c.kafka.security).toEqual({ protocol: 'SASL_SSL', ca: PEM, cert: undefined, key: undefined, sasl: { mechanism: 'scram-sha-512', username: 'gateway', password: 's3cret-value' } });
  });

  it('refuses incomplete or contradictory settings with one line that names the variable and never the secret', () => {
    const bad = (env: NodeJS.ProcessEnv, msg: RegExp) => {
      const err = (() => {
        try {
          loadConfig(env);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message).toMatch(msg);
      expect(err!.message).not.toContain('hunter2hunter2');
    };
    bad({ KAFKA_SECURITY_PROTOCOL: 'TLS' }, /KAFKA_SECURITY_PROTOCOL=TLS is not one of/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_PASSWORD: 'hunter2hunter2' }, /needs KAFKA_SASL_USERNAME/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'gateway' }, /needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'g', KAFKA_SASL_PASSWORD: 'hunter2hunter2', KAFKA_SASL_PASSWORD_FILE: file('pw2', 'x') }, /KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'g', KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') }, /KAFKA_SASL_PASSWORD_FILE=.* is not a readable file/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: file('notpem', 'hunter2hunter2') }, /KAFKA_SSL_CA_FILE=.* is not a PEM file/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: file('c.pem', PEM) }, /both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/);
    bad({ KAFKA_SSL_CA_FILE: file('ca2.pem', PEM) }, /need KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL/);
    bad({ KAFKA_SASL_USERNAME: 'g', KAFKA_SASL_PASSWORD: 'hunter2hunter2' }, /need KAFKA_SECURITY_PROTOCOL=SASL_SSL/);
    bad({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'GSSAPI', KAFKA_SASL_USERNAME: 'g', KAFKA_SASL_PASSWORD: 'hunter2hunter2' }, /KAFKA_SASL_MECHANISM=GSSAPI/);
    bad({ SCHEMA_REGISTRY_USERNAME: 'r' }, /both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/);
    bad({ CLICKHOUSE_URL: 'https://ch.example.com:8443' }, /not on this machine: set CLICKHOUSE_PASSWORD/);
    bad({ BUDDIES_REPLICATION_FACTOR: '0' }, /BUDDIES_REPLICATION_FACTOR=0/);
    bad({ BUDDIES_REPLICATION_FACTOR: '3', BUDDIES_MIN_INSYNC_REPLICAS: '4' }, /exceeds BUDDIES_REPLICATION_FACTOR=3/);
  });

  it('takes production settings: replication 3 and 2, registry basic auth, a remote ClickHouse with passwords', () => {
    const c = loadConfig({
      BUDDIES_REPLICATION_FACTOR: '3', BUDDIES_MIN_INSYNC_REPLICAS: '2', SCHEMA_REGISTRY_USERNAME: 'buddies', SCHEMA_REGISTRY_PASSWORD_FILE: file('reg', 'r-pass\n'),
      CLICKHOUSE_URL: 'https://ch.example.com:8443', CLICKHOUSE_USER: 'writer', CLICKHOUSE_PASSWORD: 'w-pass', CLICKHOUSE_ANALYST_PASSWORD_FILE: file('an', 'a-pass'),
      CLICKHOUSE_ANALYST_MAX_ROWS_TO_READ: '1000',
    });
    expect([c.kafka.replicationFactor, c.kafka.minInsyncReplicas]).toEqual([3, 2]);
    expect(c.registry.auth).toEqual({ username: 'buddies', password: 'r-pass' });
    expect(c.clickhouse).toMatchObject({ username: 'writer', password: 'w-pass', analyst: { password: 'a-pass', maxRowsToRead: 1000 } });
  });
});
