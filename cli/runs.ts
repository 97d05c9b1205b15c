import type { RunRecord } from '../runs/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';
import { DEFAULT_RUNS_FILE, RUNS_FLAG, runStoreFor } from './run-flags.js';

const HELP = `usage: buddies runs list [--kind K] [--limit N] [--json]
       buddies runs show ID
       buddies runs compare ID ID

Training, evaluation and tuning runs recorded by train-bpr, eval and tune: parameters, metrics, data hash,
code version and artifact path. IDs may be abbreviated to a unique prefix.

  --runs FILE   the JSON-lines run file (default ${DEFAULT_RUNS_FILE})
  --kind K      only runs of this kind (train, eval, tune)
  --limit N     only the newest N (default 20)
  --json        one JSON record per line

Exit: 0 ok, 1 unknown run, 2 usage.`;

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(5);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The metric most worth a column in `list`: the first NDCG, else AUC, else the first metric. */
function headline(r: RunRecord): string {
  const entries = Object.entries(r.metrics);
  const pick = entries.find(([k]) => /^bpr.*ndcg@/.test(k)) ?? entries.find(([k]) => /ndcg@/.test(k)) ?? entries.find(([k]) => /auc/i.test(k)) ?? entries[0];
  return pick ? `${pick[0]}=${fmt(pick[1])}` : '';
}

function keyTable(title: string, a: Readonly<Record<string, unknown>>, b?: Readonly<Record<string, unknown>>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b ?? {})])].sort();
  const w = Math.max(8, ...keys.map((k) => k.length));
  return [
    `${title}:`,
    ...keys.map((k) => {
      const av = k in a ? fmt(a[k]) : '—';
      if (!b) return `  ${k.padEnd(w)}  ${av}`;
      const bv = k in b ? fmt(b[k]) : '—';
      const delta = typeof a[k] === 'number' && typeof b[k] === 'number' ? `  (${(b[k] as number) - (a[k] as number) >= 0 ? '+' : ''}${fmt((b[k] as number) - (a[k] as number))})` : av === bv ? '' : '  *';
      return `  ${k.padEnd(w)}  ${av.padStart(14)}  ${bv.padStart(14)}${delta}`;
    }),
  ];
}

function describe(r: RunRecord): string[] {
  return [
    `run ${r.id}  [${r.kind}]  ${r.startedAt}${r.seconds !== undefined ? `  ${r.seconds.toFixed(1)}s` : ''}`,
    ...(r.command ? [`  command  ${r.command}`] : []),
    `  data     ${r.dataPath ?? '?'} (hash ${r.dataHash ?? '?'})`,
    `  code     ${r.codeVersion ?? '?'}   backend ${r.backend ?? '?'}`,
    `  artifact ${r.artifact ?? '—'}`,
  ];
}

export const runsCommand: Command = {
  summary: 'list, show and compare recorded training/evaluation runs',
  help: HELP,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    const { values: v, positionals: ids } = parseFlagsAndArgs(rest, { ...RUNS_FLAG, kind: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false } });
    const store = runStoreFor(v.runs, ctx.config);
    const need = async (id: string | undefined): Promise<RunRecord | undefined> => {
      if (!id) throw new UsageError('give a run ID');
      const r = await store.get(id);
      if (!r) process.stderr.write(`buddies runs: no run '${id}' (or the prefix is ambiguous)\n`);
      return r;
    };
    if (sub === 'list') {
      if (ids.length) throw new UsageError(`unexpected argument '${ids[0]}'`);
      const runs = await store.list({ ...(v.kind ? { kind: v.kind } : {}), limit: intFlag('limit', v.limit, 20) });
      if (v.json) for (const r of runs) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        for (const r of runs) {
          process.stdout.write(`${r.id}  ${r.kind.padEnd(5)}  ${(r.backend ?? '').padEnd(10)}  ${(r.dataHash ?? '').padEnd(16)}  ${headline(r)}\n`);
        }
        if (runs.length === 0) process.stderr.write('no runs recorded\n');
      }
      return 0;
    }
    if (sub === 'show') {
      if (ids.length !== 1) throw new UsageError('show takes one run ID');
      const r = await need(ids[0]);
      if (!r) return 1;
      if (v.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else process.stdout.write(`${[...describe(r), ...keyTable('params', r.params), ...keyTable('metrics', r.metrics)].join('\n')}\n`);
      return 0;
    }
    if (sub === 'compare') {
      if (ids.length !== 2) throw new UsageError('compare takes two run IDs');
      const a = await need(ids[0]);
      const b = await need(ids[1]);
      if (!a || !b) return 1;
      const same = a.dataHash === b.dataHash ? 'same data' : `DIFFERENT data (${a.dataHash} vs ${b.dataHash})`;
      process.stdout.write(
        `${[`A ${a.id} [${a.kind}]  vs  B ${b.id} [${b.kind}]: ${same}; code ${a.codeVersion ?? '?'} vs ${b.codeVersion ?? '?'}`, ...keyTable('params (A, B)', a.params, b.params), ...keyTable('metrics (A, B, B−A)', a.metrics, b.metrics)].join('\n')}\n`,
      );
      return 0;
    }
    throw new UsageError(`expected list, show or compare, got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
  },
};
