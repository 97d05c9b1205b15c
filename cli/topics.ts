import { connectStreams, ensureTopics, TOPICS, TOPIC_KEYS, topicNames } from '../streams/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { parseFlagsAndArgs } from './flags.js';

const HELP = `usage: buddies topics <ensure|list> [--prefix P]

  ensure   create every topic of the topic map that is missing (partitions, cleanup policy, retention)
           and register each value schema in the registry with BACKWARD compatibility; idempotent
  list     the topic map: name, partitions, cleanup policy, retention, key, schema

  --prefix P   topic name prefix (default: BUDDIES_TOPIC_PREFIX, empty)
`;

export const topicsCommand: Command = {
  summary: 'create the Kafka topics and register the Avro schemas (idempotent)',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, { prefix: { type: 'string' } });
    const cfg = ctx.config;
    const names = topicNames(values.prefix ?? cfg.topicPrefix);
    const [action] = positionals;
    if (action === 'list') {
      for (const k of TOPIC_KEYS) {
        const t = TOPICS[k];
        const retention = t.retentionMs === null ? '-' : `${Math.round(t.retentionMs / 86_400_000)}d`;
        process.stdout.write(`${names.name(k).padEnd(40)} p=${String(t.partitions).padEnd(3)} ${t.cleanupPolicy.padEnd(8)} ${retention.padEnd(5)} key=${t.keyedBy.padEnd(11)} ${t.schemaFile ?? 'raw bytes'}\n`);
      }
      return 0;
    }
    if (action !== 'ensure') throw new UsageError(action ? `unknown action '${action}'` : 'missing action: ensure or list');
    // connecting registers every value schema (BACKWARD, idempotent)
    const { kafka, serde } = await connectStreams(cfg, { role: 'topics', prefix: names.prefix });
    const res = await ensureTopics(kafka, names, undefined, { replicationFactor: cfg.kafka.replicationFactor, minInsyncReplicas: cfg.kafka.minInsyncReplicas });
    process.stdout.write(`topics: ${res.created.length} created, ${res.existing.length} already there\n`);
    for (const t of res.created) process.stdout.write(`  created ${t}\n`);
    for (const [k, id] of serde.schemaIds) process.stdout.write(`  schema ${names.subject(k)} id ${id}\n`);
    if (res.notCoPartitioned.length) {
      for (const line of res.notCoPartitioned) process.stderr.write(`topics: not co-partitioned: ${line}\n`);
      throw new InputError('topics keyed alike have different partition counts: recreate them with the counts of `buddies topics list`');
    }
    return 0;
  },
};
