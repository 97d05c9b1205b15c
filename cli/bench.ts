import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { benchmarkRuntime, connectStreams, type RuntimeBenchResult } from '../streams/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';

const HELP = `usage: buddies bench runtime [--events N] [--users U] [--json] [--out FILE]

On the running stack, in one run and on topics of its own (deleted afterwards): produces N records (two
thirds listens, one third feedback, over U users), then measures
  rawConsumePerSec  kafkajs consuming them, nothing else
  (decodePerSec     kafkajs consuming them and the Avro serde decoding each: in the table and --out)
  eosPerSec         the exactly-once counting topology (streams/counting.ts) over the same records:
                    decode, per-user counts in a changelogged store, one transaction per batch
  restorePerSec     restoring that store from its changelog, partition by partition
Consume rates run from the first record to the last (the set-up before is reported apart).
Progress on stderr; a table on stdout, or with --json one JSON object as the last line.

  --events N   records (default 200000)
  --users U    distinct keys (default 10000)
  --json       print the result as JSON
  --out FILE   also write the result as Markdown (bench/results/runtime.md)
`;

function markdown(r: RuntimeBenchResult, command: string): string {
  const rows = [
    ['kafkajs consume (reference)', r.rawConsumePerSec, r.seconds.rawConsume, r.events],
    ['kafkajs consume + Avro decode (reference)', r.decodePerSec, r.seconds.decode, r.events],
    ['exactly-once counting topology', r.eosPerSec, r.seconds.eos, r.events],
    ['store restore from changelog', r.restorePerSec, r.seconds.restore, r.changelogRecords],
  ] as const;
  return [
    '# Stream runtime benchmark',
    '',
    `Command: \`${command}\` (local stack: Kafka 3.9 KRaft, Apicurio 2.6; ${availableParallelism()} cores; Node ${process.version}).`,
    `Run: ${new Date().toISOString()}. ${r.events} records over ${r.users} users, produced in ${r.seconds.produce.toFixed(1)} s.`,
    `Rates run from the first record consumed to the last; before it, kafkajs spent ${r.setupSeconds.rawConsume.toFixed(2)} s joining its group and the`,
    `app ${r.setupSeconds.eos.toFixed(2)} s creating its changelog topic, joining and setting up its 6 tasks (fence, restore).`,
    '',
    '| step | records | seconds | records/s |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(([name, rate, secs, n]) => `| ${name} | ${n} | ${secs.toFixed(2)} | ${Math.round(rate)} |`),
    '',
    `Exactly-once throughput is ${((100 * r.eosPerSec) / r.rawConsumePerSec).toFixed(0)}% of kafkajs's raw consume rate (goal: at least 50%) and ${((100 * r.eosPerSec) / r.decodePerSec).toFixed(0)}% of`,
    'kafkajs with Avro decoding.',
    '',
  ].join('\n');
}

export const benchCommand: Command = {
  summary: 'benchmarks on the running stack: runtime (exactly-once topology vs raw kafkajs, restore)',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, { events: { type: 'string' }, users: { type: 'string' }, json: { type: 'boolean', default: false }, out: { type: 'string' } });
    if (positionals[0] !== 'runtime') throw new UsageError(positionals[0] ? `unknown benchmark '${positionals[0]}'` : 'missing benchmark: runtime');
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const events = intFlag('events', values.events, 200_000);
    const users = intFlag('users', values.users, 10_000);
    const log = (line: string) => process.stderr.write(`[bench runtime] ${line}\n`);
    const { kafka, serde } = await connectStreams(ctx.config, {
      role: 'bench', prefix: `bench-${randomBytes(4).toString('hex')}.`, keys: ['listens', 'feedback', 'interactionWindows'],
    });
    const r = await benchmarkRuntime({ kafka, serde, events, users, log });
    if (values.out) {
      await mkdir(dirname(values.out), { recursive: true });
      await writeFile(values.out, markdown(r, `buddies bench ${argv.join(' ')}`)).catch((err: unknown) => {
        throw new InputError(`--out ${values.out}: ${err instanceof Error ? err.message : String(err)}`);
      });
      log(`wrote ${values.out}`);
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rawConsumePerSec: Math.round(r.rawConsumePerSec), eosPerSec: Math.round(r.eosPerSec), restorePerSec: Math.round(r.restorePerSec), events: r.events })}\n`);
    } else {
      process.stdout.write(`kafkajs consume      ${Math.round(r.rawConsumePerSec)} records/s\nkafkajs + decode     ${Math.round(r.decodePerSec)} records/s\nexactly-once count   ${Math.round(r.eosPerSec)} records/s (${((100 * r.eosPerSec) / r.rawConsumePerSec).toFixed(0)}% of kafkajs)\nrestore              ${Math.round(r.restorePerSec)} records/s (${r.changelogRecords} changelog records)\n`);
    }
    return 0;
  },
};
