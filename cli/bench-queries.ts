import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { benchmarkQueries, queriesMarkdown, queriesTable, QueriesBenchInterrupted, RAW_EQUIVALENTS } from '../bench/queries.js';
import { InputError, UsageError, type CommandContext } from './command.js';
import { INTERRUPTED, runInterruptible } from './progress.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';
import { makeDirs } from './dirs.js';

export const QUERIES_HELP = `usage: buddies bench queries [--events N] [--runs R] [--out FILE]

Times the analysts' ten queries (warehouse/queries.ts, 'buddies report') on a warehouse of N listen events.
On the running ClickHouse (CLICKHOUSE_URL), in a fresh database of its own (bench_queries_<random>, migrated with
the project's migrations, dropped at the end and on Ctrl-C):
  load     N listens plus proportionate feedback (N/4), recommendation lists (N/50, 10 items each) and playlists
           (N/250 organic, N/2500 algorithmic), by N/2000 users over 28 days, generated inside ClickHouse with
           INSERT ... SELECT FROM numbers() (hash-drawn: every run loads the same rows), in time order and in
           chunks, so the materialized views listen_hourly and playlist_first_seen fill as the sink fills them;
           then waits (up to 10 min) for the background merges to finish
  time     each query R times over the whole data: client wall time (median, max) and, from system.query_log,
           server time, rows and bytes read, peak memory. Side by side, as the reference, the queries that read
           the hourly views (${Object.keys(RAW_EQUIVALENTS).join(', ')}) computed from the raw tables
           (listen_events FINAL; reactions joined to their lists), run alternately with them; the two must give
           the same rows.
Progress on stderr; the table on stdout. 10 million events took four minutes and 1 GiB of disk on 2 cores.

  --events N   listen events (default 10000000)
  --runs R     timed runs per query (default 5)
  --out FILE   also write the result as Markdown (bench/results/queries.md)
`;

/** `buddies bench queries ...` (argv: the arguments after 'bench', 'queries' among them). */
export async function runQueriesBench(argv: string[], ctx: CommandContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(QUERIES_HELP);
    return 0;
  }
  const { values, positionals } = parseFlagsAndArgs(argv, { events: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const events = intFlag('events', values.events, 10_000_000, 1000, 1_000_000_000);
  const runs = intFlag('runs', values.runs, 5, 1, 100);
  const log = (line: string) => process.stderr.write(`[bench queries] ${line}\n`);
  if (values.out) await makeDirs(dirname(values.out), 'choose a writable path for --out'); // before minutes of work
  const result = await runInterruptible(log, "this run's queries and database", (err) => err instanceof QueriesBenchInterrupted, (signal) =>
    benchmarkQueries({ config: ctx.config, events, runs, log, signal }));
  if (result === INTERRUPTED) return 130;
  if (values.out) {
    const out = values.out;
    try {
      await writeFile(out, queriesMarkdown(result, `buddies bench ${argv.join(' ')}`));
    } catch (err) {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`wrote ${out}`);
  }
  process.stdout.write(`${queriesTable(result.timings)}\n`);
  return 0;
}
