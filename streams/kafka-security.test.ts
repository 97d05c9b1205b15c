import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { kafkaSecurityOptions } from './kafka.js';
import { createSchemaRegistry } from './serde.js';
import { LOCAL_REPLICATION, checkReplication, topicConfigEntries } from './admin.js';

// Issue 12: the one place that builds kafkajs clients maps the security configuration; registry basic auth
describe('kafka security options', () => {
  it('adds nothing for PLAINTEXT, TLS with the CA for SSL, and TLS plus SCRAM for SASL_SSL', () => {
    expect(kafkaSecurityOptions(undefined)).toEqual({});
    expect(kafkaSecurityOptions({ protocol: 'PLAINTEXT' })).toEqual({});
    expect(kafkaSecurityOptions({ protocol: 'SSL' })).toEqual({ ssl: true });
    expect(kafkaSecurityOptions({ protocol: 'SSL', ca: 'CA', cert: 'C', key: 'K' })).toEqual({ ssl: { ca: ['CA'], cert: 'C', key: 'K', rejectUnauthorized: true } });
    expect(kafkaSecurityOptions({ protocol: 'SASL_SSL', ca: 'CA', sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } }))
      .toEqual({ ssl: { ca: ['CA'], rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    expect(kafkaSecurityOptions({ protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'plain', username: 'u', password: 'p' } })).toEqual({ sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
    expect(() => kafkaSecurityOptions({ protocol: 'SASL_SSL' })).toThrow(/needs SASL credentials/);
  });
});

describe('topic replication', () => {
  it('sets min.insync.replicas on every topic and refuses settings no cluster can honour', () => {
    expect(topicConfigEntries('listens', { replicationFactor: 3, minInsyncReplicas: 2 })).toContainEqual({ name: 'min.insync.replicas', value: '2' });
    expect(topicConfigEntries('pairings')).toContainEqual({ name: 'min.insync.replicas', value: String(LOCAL_REPLICATION.minInsyncReplicas) });
    expect(() => checkReplication({ replicationFactor: 3, minInsyncReplicas: 4 })).toThrow(RangeError);
    expect(() => checkReplication({ replicationFactor: 0, minInsyncReplicas: 1 })).toThrow(RangeError);
  });
});

describe('schema registry client', () => {
  it('sends the configured basic-auth credentials on every request (a real HTTP server on port 0)', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] }) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await createSchemaRegistry(url, { username: 'buddies', password: 'reg-pass' }).getSchema(1);
      await createSchemaRegistry(url).getSchema(2);
      expect(seen).toEqual([`Basic ${Buffer.from('buddies:reg-pass').toString('base64')}`, undefined]);
    } finally {
      server.close();
    }
  });
});
