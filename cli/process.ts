import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWarehouseSink, type SinkTopic } from '../processors/index.js';
import {
  createAvroSerde, createKafka, createSchemaRegistry, createStreamRunner, stopOnSignals, topicNames, type StreamRunner,
} from '../streams/index.js';
import { createWarehouseClient } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { loadConfig } from './config.js';

const HELP = `usage: buddies process <warehouse> [--group-prefix P]

Runs stream processors until SIGTERM or Ctrl-C (each finishes its batch, commits and leaves its group).

  warehouse   listens, feedback, playlists and recommendations into ClickHouse (at-least-once;
              the ReplacingMergeTree tables fold replays away)

  --group-prefix P   consumer group prefix (default: buddies)
`;

const SINK_TOPICS: readonly SinkTopic[] = ['listens', 'feedback', 'playlists', 'recommendations'];

export const processCommand: Command = {
  summary: 'run stream processors (warehouse sink) until stopped',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'group-prefix': { type: 'string', default: 'buddies' } } });
    const [which] = positionals;
    if (which !== 'warehouse') throw new UsageError(which ? `unknown processor '${which}'` : 'missing processor: warehouse');
    const cfg = loadConfig();
    const topics = topicNames(cfg.topicPrefix);
    const kafka = createKafka({ brokers: cfg.kafka.brokers, clientId: `${cfg.clientId}-warehouse` });
    const serde = await createAvroSerde({ registry: createSchemaRegistry(cfg.registry.url), topics, schemasDir: join(cfg.rootDir, 'schemas') });
    const client = createWarehouseClient({ url: cfg.clickhouse.url, database: cfg.clickhouse.database, username: cfg.clickhouse.username, password: cfg.clickhouse.password });
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const runners: StreamRunner[] = SINK_TOPICS.map((topic) => createStreamRunner({
      kafka, serde, input: topic, groupId: `${values['group-prefix']}.warehouse.${topic}`, guarantee: 'at-least-once',
      processor: createWarehouseSink(topic, client), log,
    }));
    stopOnSignals([...runners, { stop: () => client.close() }], { log });
    await Promise.all(runners.map((r) => r.start()));
    log('warehouse sink running; Ctrl-C to stop');
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
