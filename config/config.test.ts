import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, findRootDir, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const cfg = loadConfig({});
    expect(cfg.kafka).toMatchObject({ brokers: ['127.0.0.1:9092'], external: false });
    expect(cfg.registry).toMatchObject({ url: 'http://127.0.0.1:8081/apis/ccompat/v7', external: false });
    expect(cfg.clickhouse).toMatchObject({ url: 'http://127.0.0.1:8123', external: false, database: 'buddies' });
    expect(cfg.stackDir).toBe(`${cfg.rootDir}/.stack`);
    expect(cfg.modelsDir).toBe(`${cfg.rootDir}/.buddies/models`);
  });

  it('takes the model registry folder from BUDDIES_MODELS_DIR, resolved to an absolute path', () => {
    expect(loadConfig({ BUDDIES_MODELS_DIR: '/srv/buddies/models' }).modelsDir).toBe('/srv/buddies/models');
    expect(loadConfig({ BUDDIES_MODELS_DIR: 'rel/models' }).modelsDir).toBe(resolve('rel/models'));
    expect(loadConfig({ BUDDIES_MODELS_DIR: '' }).modelsDir).toBe(`${loadConfig({}).rootDir}/.buddies/models`);
  });

  it('documents BUDDIES_MODELS_DIR in CONFIG_VARIABLES, and the README Configuration table names every variable there', async () => {
    expect(CONFIG_VARIABLES.find(([name]) => name === 'BUDDIES_MODELS_DIR')).toEqual(['BUDDIES_MODELS_DIR', '<repo>/.buddies/models', expect.stringMatching(/model registry/)]);
    const readme = await readFile(join(findRootDir(), 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const documented = new Set([...section.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((n) => n[1])));
    expect(CONFIG_VARIABLES.map(([name]) => name).filter((name) => !documented.has(name))).toEqual([]);
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
