import { ANALYTICS_QUERIES, createWarehouseClient, formatQueryResult, requireWarehouseSchema, runAnalyticsQuery, UnknownQueryError, warehouseOptions, type ReportFormat } from '../warehouse/index.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, parseFlagsAndArgs } from './flags.js';

const FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv'];

const HELP = `usage: buddies report NAME [--since D] [--format table|json|csv]
       buddies report --list

Runs one of the analysts' queries on the warehouse (CLICKHOUSE_URL, CLICKHOUSE_DATABASE) and prints its result.
The queries, what each column means and sample outputs are in docs/analytics.md; the SQL there is the SQL run here.

  --list        print each query's name and the question it answers, one per line
  --since D     the window's start: Nd (the last N days, e.g. 7d), a date YYYY-MM-DD (UTC), or 'all' (default 30d)
  --format F    table (default), json (an array of row objects) or csv (with a header)

Queries: ${ANALYTICS_QUERIES.map((q) => q.name).join(', ')}.
`;

/** The window's start in unix seconds, from --since (now: the current time in milliseconds). */
export function parseSince(v: string | undefined, now: number): number {
  const s = v ?? '30d';
  if (s === 'all') return 0;
  const days = /^(\d+)d$/.exec(s);
  if (days) return Math.max(0, Math.floor(now / 1000) - Number(days[1]) * 86_400);
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (date) {
    const t = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]));
    if (!Number.isNaN(t) && new Date(t).toISOString().startsWith(s)) return Math.max(0, t / 1000);
  }
  throw new UsageError(`--since must be Nd (e.g. 7d), a date YYYY-MM-DD or 'all', got '${s}'`);
}

export const reportCommand: Command = {
  summary: "run an analysts' query by name (docs/analytics.md); --list names them",
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      list: { type: 'boolean', default: false },
      since: { type: 'string' },
      format: { type: 'string' },
    });
    if (values.list) {
      if (positionals.length > 0) throw new UsageError('--list takes no query name');
      for (const q of ANALYTICS_QUERIES) process.stdout.write(`${q.name}\t${q.question}\n`);
      return 0;
    }
    const [name, extra] = positionals;
    if (!name) throw new UsageError('missing the query name (buddies report --list names them)');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    if (!ANALYTICS_QUERIES.some((q) => q.name === name)) throw new InputError(new UnknownQueryError(name).message);
    const format = choiceFlag('format', values.format, FORMATS, 'table');
    const since = parseSince(values.since, Date.now());
    const opts = warehouseOptions(ctx.config);
    await requireWarehouseSchema(opts);
    const client = createWarehouseClient(opts);
    try {
      process.stdout.write(formatQueryResult(await runAnalyticsQuery(client, name, since), format));
      return 0;
    } finally {
      await client.close();
    }
  },
};
