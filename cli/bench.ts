import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkLatency, Interrupted, latencyDetailTable, latencyTable, type LatencyBenchResult } from '../bench/latency.js';
import { benchmarkRuntime, connectStreams, type RuntimeBenchResult } from '../streams/index.js';
import { InputError, UsageError, wantsHelp, type Command, type CommandContext } from './command.js';
import { INTERRUPTED, runInterruptible } from './progress.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';
import { runQueriesBench } from './bench-queries.js';
import { makeDirs } from './dirs.js';

const HELP = `usage: buddies bench runtime [--events N] [--users U] [--json] [--out FILE]

On the running stack, in one run and on topics of its own (deleted afterwards): produces N records (two
thirds listens, one third feedback, over U users), then measures
  rawConsumePerSec  kafkajs consuming them, nothing else
  (decodePerSec     kafkajs consuming them and the Avro serde decoding each: in the table and --out)
  eosPerSec         the exactly-once counting topology (streams/counting.ts) over the same records:
                    decode, per-user counts in a changelogged store, one transaction per batch
  restorePerSec     restoring that store from its changelog, partition by partition
Consume rates run from each consumer's first fetch request (the app: or from when its tasks are built, if
later) to the last record, the same way for all three (group join and task set-up are reported apart).
Progress on stderr; a table on stdout, or with --json one JSON object as the last line.

  --events N   records (default 200000)
  --users U    distinct keys (default 10000)
  --json       print the result as JSON
  --out FILE   also write the result as Markdown (bench/results/runtime.md)
`;

const LATENCY_HELP = `usage: buddies bench latency [--rates R,R,...] [--seconds S] [--warmup S] [--users N] [--playlists N]
                             [--seed S] [--drain S] [--no-reference] [--profile DIR] [--json] [--out FILE]

Event-to-list latency of the live recommender on the running stack, on topics of its own (a fresh prefix,
deleted at the end, on Ctrl-C too). Set-up: generates a world (N users, P playlists), imports it, trains and
announces track embeddings into a temporary model registry and starts 'buddies process recommender' as a child
process (strategy buddies, --refresh-every 1: a list on every listen; --from latest). Then, per rate, ascending:
  recommender  W s of warm-up, then S s measured: a paced producer sends listens of the world's users (keyed
               by user, unique event ids) at the rate; a read_committed consumer of the recommendations topic
               times each list from its listen handed to the producer to the list fetched (committed). Lists
               carry no event id, so a list is matched by user and order: the n-th list of a user answers
               their n-th listen (exact with a list per listen; checked, see the result's last lines).
  reference    the same load through a raw kafkajs exactly-once pass-through (a child process too: per batch
               one transaction with one small record per listen and the input offsets): the floor that Kafka
               transactions impose, matched exactly by an id header.
The two never run at once; each phase starts once every list of the previous one arrived. A system whose lists
are not all in --drain seconds after its window is saturated: a saturated or stopped recommender is replaced by
a fresh one (new consumer group) for the next rate; a saturated reference is not run at higher rates.
Progress on stderr; a Markdown table on stdout (or with --json one JSON object as the last line).
Ctrl-C stops the run and still deletes its topics and stops its processes.

  --rates R,R,...  offered listens per second (default 1000,5000)
  --seconds S      measured seconds per rate and system (default 30)
  --warmup S       seconds at the rate before each measured window (default 10)
  --users N        users of the generated world, all of whom listen (default 2000)
  --playlists N    playlists of the generated world (default 5000)
  --seed S         world seed (default 1)
  --drain S        seconds the lists of a window may take to arrive after it (default 30)
  --no-reference   measure the recommender only
  --profile DIR    write a V8 CPU profile of each recommender process into DIR (node --cpu-prof)
  --json           print the result as JSON
  --out FILE       also write the result as Markdown (bench/results/latency.md)
`;

const OVERVIEW = `usage: buddies bench <runtime|latency|queries> [options]

Benchmarks on the running stack, each on topics of its own:
  runtime   the exactly-once stream runtime against raw kafkajs, and store restore (bench/results/runtime.md)
  latency   event-to-list latency of the live recommender at steady offered loads, beside a raw kafkajs
            exactly-once pass-through (bench/results/latency.md)
  queries   the analysts' ten queries on 10 million generated events, views beside raw tables, in a ClickHouse
            database of its own (bench/results/queries.md)

'buddies bench runtime --help', 'buddies bench latency --help' and 'buddies bench queries --help' print their options.
`;

/** One-minute load averages of the machine when the run started and ended. */
interface RunLoad {
  readonly before: number;
  readonly after: number;
}

function markdown(r: RuntimeBenchResult, command: string, load: RunLoad): string {
  const rows = [
    ['kafkajs consume (reference)', r.rawConsumePerSec, r.seconds.rawConsume, r.events, r.cpuSeconds.rawConsume, r.setupSeconds.rawConsume, r.firstFetchSeconds.rawConsume, 0],
    ['kafkajs consume + Avro decode (reference)', r.decodePerSec, r.seconds.decode, r.events, r.cpuSeconds.decode, r.setupSeconds.decode, r.firstFetchSeconds.decode, 0],
    ['exactly-once counting topology', r.eosPerSec, r.seconds.eos, r.events, r.cpuSeconds.eos, r.setupSeconds.eos, r.firstFetchSeconds.eos, r.waitedForTasksSeconds],
  ] as const;
  const perCpu = (n: number, cpu: number) => (cpu > 0 ? String(Math.round(n / cpu)) : '–');
  return [
    '# Stream runtime benchmark',
    '',
    `Command: \`${command}\` (local stack: Kafka 3.9 KRaft, Apicurio 2.6; ${availableParallelism()} cores; Node ${process.version}).`,
    `Run: ${new Date().toISOString()}. ${r.events} records over ${r.users} users, produced in ${r.seconds.produce.toFixed(1)} s.`,
    `Machine load (1-minute average, every process on the machine): ${load.before.toFixed(1)} when the run started, ${load.after.toFixed(1)} when it ended.`,
    '',
    'How it is timed. Each consumer is timed from its first fetch request (kafkajs\'s `consumer.fetch_start` event; the app',
    'reports its consumer\'s through `StreamsObserver.fetchStart`/`fetchEnd`) to the moment the last record has been counted',
    '(polled every 2 ms). The first fetch is in the span: kafkajs hands over nothing before it has read up to ~10 MB, so a',
    'clock started at the first record would leave it out. Set-up before the first fetch (connecting, joining the group; the',
    'app also creates its changelog topic) is not in the span. The app fetches while it still fences and restores its tasks',
    '(in set-up time: it can process nothing before they are built): when its first fetch came back before every task was',
    'built, that wait (from the fetch\'s response to `ready()`) is left out of its span, CPU time included, and shown apart.',
    'CPU seconds are this process\'s (every thread, garbage collection included) in the same span; records per CPU second',
    'moves less with the load of the shared machine than records/s.',
    '',
    '| step | records | set-up s | first fetch s | waited for tasks s | seconds | records/s | CPU s | records per CPU s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(([name, rate, secs, n, cpu, setup, first, waited]) => `| ${name} | ${n} | ${setup.toFixed(2)} | ${first.toFixed(2)} | ${waited.toFixed(2)} | ${secs.toFixed(2)} | ${Math.round(rate)} | ${cpu.toFixed(2)} | ${perCpu(n, cpu)} |`),
    `| store restore from changelog | ${r.changelogRecords} | – | – | – | ${r.seconds.restore.toFixed(2)} | ${Math.round(r.restorePerSec)} | – | – |`,
    '',
    `Exactly-once throughput is ${((100 * r.eosPerSec) / r.rawConsumePerSec).toFixed(0)}% of kafkajs's raw consume rate (goal: at least 50%) and ${((100 * r.eosPerSec) / r.decodePerSec).toFixed(0)}% of`,
    `kafkajs with Avro decoding; per CPU second, ${((100 * r.cpuSeconds.rawConsume) / r.cpuSeconds.eos).toFixed(0)}% and ${((100 * r.cpuSeconds.decode) / r.cpuSeconds.eos).toFixed(0)}%.`,
    '',
  ].join('\n');
}

function latencyMarkdown(r: LatencyBenchResult, command: string): string {
  const w = r.written;
  const kb = (bytes: number, n: number) => (n > 0 ? `${(bytes / n / 1024).toFixed(1)} KiB` : '–');
  return [
    '# Event-to-list latency of the live recommender',
    '',
    `Command: \`${command}\` (local stack: Kafka 3.9 KRaft, Apicurio 2.6; ${r.machine.cores} cores, ${r.machine.memoryGiB.toFixed(0)} GiB; Node ${r.machine.node}; code ${r.codeVersion ?? 'not in a git checkout'}).`,
    `Run: ${r.startedAt}. World: ${r.world.users} users, ${r.world.playlists} playlists (seed ${r.world.seed}), ${r.world.importedEvents} events imported. Set-up: generate`,
    `${r.setupSeconds.generate.toFixed(1)} s, import ${r.setupSeconds.import.toFixed(1)} s, track embeddings ${r.setupSeconds.embeddings.toFixed(1)} s, recommender start ${r.setupSeconds.recommenderStart.toFixed(1)} s.`,
    `Per rate and system: ${r.warmupSeconds} s of warm-up, ${r.seconds} s measured, then up to ${r.drainLimitSeconds} s for the window's last lists. Latency: listen handed to the`,
    'producer → its list fetched by a read_committed consumer; a list that never came counts as ∞.',
    '',
    latencyTable(r),
    '',
    'Where the time goes. The split is at the Kafka timestamp the processor\'s producer gives the list record; batches come from the',
    'runtime\'s metrics (`buddies_streams_batch_seconds`) or the pass-through\'s own counters, which also time the steps of its',
    'transactions; cores are CPU seconds per second of the measured window, by process (the machine column counts every process).',
    '',
    latencyDetailTable(r),
    '',
    `Recommender processes started: ${r.recommenders}. Checks of the user/order match: ${r.stray} lists for a user with no listen outstanding, ${r.phases.reduce((a, p) => a + p.outOfOrder, 0)} lists stamped before their listen.`,
    w ? `Written by the recommenders: ${w.changelogRecords} records to their users-store changelogs (${(w.changelogBytes / 2 ** 20).toFixed(0)} MiB, ${kb(w.changelogBytes, w.changelogRecords)} per record with batch overhead), ${w.lists} lists (${kb(w.listBytes, w.lists)} per list).` : '',
    r.recommenderWarnings.length ? `The recommenders logged ${r.recommenderWarnings.length}${r.recommenderWarnings.length >= 50 ? '+' : ''} warning lines (repeats within a minute are silenced), e.g. \`${r.recommenderWarnings[0]}\`.` : 'The recommenders logged no warning.',
    '',
  ].join('\n');
}

async function runLatency(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlagsAndArgs(argv, {
    rates: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' }, users: { type: 'string' }, playlists: { type: 'string' },
    seed: { type: 'string' }, drain: { type: 'string' }, 'no-reference': { type: 'boolean', default: false }, profile: { type: 'string' },
    json: { type: 'boolean', default: false }, out: { type: 'string' },
  });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const rates = (values.rates ?? '1000,5000').split(',').map((r) => intFlag('rates', r.trim(), undefined, 1, 1_000_000));
  const seconds = intFlag('seconds', values.seconds, 30, 1, 3600);
  const warmupSeconds = intFlag('warmup', values.warmup, 10, 0, 3600);
  const users = intFlag('users', values.users, 2000, 1);
  const playlists = intFlag('playlists', values.playlists, 5000, 1);
  const seed = intFlag('seed', values.seed, 1, 0, 2 ** 32 - 1);
  const drainSeconds = intFlag('drain', values.drain, 30, 1, 3600);
  const log = (line: string) => process.stderr.write(`[bench latency] ${line}\n`);
  if (values.out) await makeDirs(dirname(values.out), 'choose a writable path for --out'); // before minutes of work
  const r = await runInterruptible(log, 'the topics and child processes of this run', (err) => err instanceof Interrupted, (signal) => benchmarkLatency({
    config: ctx.config, rates, seconds, warmupSeconds, users, playlists, seed, drainSeconds, reference: !values['no-reference'], log, signal,
    ...(values.profile ? { profileDir: resolve(values.profile) } : {}),
  }));
  if (r === INTERRUPTED) return 130;
  const command = `buddies bench ${argv.join(' ')}`;
  if (values.out) {
    await writeFile(values.out, latencyMarkdown(r, command)).catch((err: unknown) => {
      throw new InputError(`--out ${values.out}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`wrote ${values.out}`);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...r, phases: r.phases.map((p) => ({ ...p, latency: jsonPercentiles(p.latency), toStamp: jsonPercentiles(p.toStamp), stampToVisible: jsonPercentiles(p.stampToVisible) })) })}\n`);
  } else {
    process.stdout.write(`${latencyTable(r)}\n`);
  }
  return 0;
}

/** JSON has no Infinity: a list that never came is written as null. */
function jsonPercentiles(p: { p50: number; p95: number; p99: number; max: number }) {
  const v = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
  return { p50: v(p.p50), p95: v(p.p95), p99: v(p.p99), max: v(p.max) };
}

/** The benchmark a command line names: the first positional, read with every benchmark's flags known. */
function benchmarkOf(argv: string[]): string | undefined {
  const { positionals } = parseArgs({
    args: argv, strict: false, allowPositionals: true,
    options: {
      events: { type: 'string' }, users: { type: 'string' }, out: { type: 'string' }, rates: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' },
      playlists: { type: 'string' }, seed: { type: 'string' }, drain: { type: 'string' }, profile: { type: 'string' }, runs: { type: 'string' },
    },
  });
  return positionals[0];
}

export const benchCommand: Command = {
  summary: 'benchmarks on the running stack: runtime (exactly-once topology vs raw kafkajs, restore), latency (listen to list), queries (analysts\' queries)',
  help: OVERVIEW,
  handlesHelp: true,
  async run(argv, ctx) {
    const which = benchmarkOf(argv);
    if (which === 'queries') return runQueriesBench(argv, ctx);
    if (wantsHelp(argv) || which === 'help') {
      process.stdout.write(which === 'latency' ? LATENCY_HELP : which === 'runtime' ? HELP : OVERVIEW);
      return 0;
    }
    if (which === 'latency') return runLatency(argv, ctx);
    const { values, positionals } = parseFlagsAndArgs(argv, { events: { type: 'string' }, users: { type: 'string' }, json: { type: 'boolean', default: false }, out: { type: 'string' } });
    if (positionals[0] !== 'runtime') throw new UsageError(positionals[0] ? `unknown benchmark '${positionals[0]}'` : 'missing benchmark: runtime, latency or queries');
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const events = intFlag('events', values.events, 200_000);
    const users = intFlag('users', values.users, 10_000);
    const log = (line: string) => process.stderr.write(`[bench runtime] ${line}\n`);
    if (values.out) await makeDirs(dirname(values.out), 'choose a writable path for --out'); // before minutes of work
    const { kafka, serde } = await connectStreams(ctx.config, {
      role: 'bench', prefix: `bench-${randomBytes(4).toString('hex')}.`, keys: ['listens', 'feedback', 'interactionWindows'],
    });
    const loadBefore = loadavg()[0]!;
    const r = await benchmarkRuntime({ kafka, serde, events, users, log });
    if (values.out) {
      await writeFile(values.out, markdown(r, `buddies bench ${argv.join(' ')}`, { before: loadBefore, after: loadavg()[0]! })).catch((err: unknown) => {
        throw new InputError(`--out ${values.out}: ${err instanceof Error ? err.message : String(err)}`);
      });
      log(`wrote ${values.out}`);
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rawConsumePerSec: Math.round(r.rawConsumePerSec), eosPerSec: Math.round(r.eosPerSec), restorePerSec: Math.round(r.restorePerSec), events: r.events })}\n`);
    } else {
      process.stdout.write(`kafkajs consume      ${Math.round(r.rawConsumePerSec)} records/s\nkafkajs + decode     ${Math.round(r.decodePerSec)} records/s\nexactly-once count   ${Math.round(r.eosPerSec)} records/s (${((100 * r.eosPerSec) / r.rawConsumePerSec).toFixed(0)}% of kafkajs; CPU s raw ${r.cpuSeconds.rawConsume.toFixed(2)}, decode ${r.cpuSeconds.decode.toFixed(2)}, exactly-once ${r.cpuSeconds.eos.toFixed(2)})\nrestore              ${Math.round(r.restorePerSec)} records/s (${r.changelogRecords} changelog records)\n`);
    }
    return 0;
  },
};
