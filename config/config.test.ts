import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const cfg = loadConfig({});
    expect(cfg.kafka).toMatchObject({ brokers: ['127.0.0.1:9092'], external: false });
    expect(cfg.registry).toMatchObject({ url: 'http://127.0.0.1:8081/apis/ccompat/v7', external: false });
    expect(cfg.clickhouse).toMatchObject({ url: 'http://127.0.0.1:8123', external: false, database: 'buddies' });
    expect(cfg.stackDir).toBe(`${cfg.rootDir}/.stack`);
  });

  it('marks services given by URL as external and follows port settings', () => {
    const cfg = loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9092', SCHEMA_REGISTRY_URL: 'http://reg:8080/apis/ccompat/v7/', BUDDIES_CLICKHOUSE_HTTP_PORT: '18123' });
    expect(cfg.kafka).toMatchObject({ brokers: ['k1:9092', 'k2:9092'], external: true });
    expect(cfg.registry).toMatchObject({ url: 'http://reg:8080/apis/ccompat/v7', external: true });
    expect(cfg.clickhouse).toMatchObject({ url: 'http://127.0.0.1:18123', external: false });
  });

  it('rejects bad values with the variable named', () => {
    expect(() => loadConfig({ BUDDIES_KAFKA_PORT: '99999' })).toThrow(ConfigError);
    expect(() => loadConfig({ BUDDIES_KAFKA_PORT: 'abc' })).toThrow(/BUDDIES_KAFKA_PORT/);
    expect(() => loadConfig({ KAFKA_BROKERS: 'no-port' })).toThrow(/KAFKA_BROKERS/);
    expect(() => loadConfig({ CLICKHOUSE_URL: 'not a url' })).toThrow(/CLICKHOUSE_URL/);
    expect(() => loadConfig({ CLICKHOUSE_DATABASE: 'x; DROP' })).toThrow(/CLICKHOUSE_DATABASE/);
  });
});
