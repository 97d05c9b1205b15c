import { stat } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import { createLoadReport, INTERACTION_FORMATS, readInteractions, type InteractionFormat } from '../data/index.js';
import type { BprBackend, CreateBprOptions, EpochReport } from '../models/bpr/index.js';
import { buildInteractionMatrix, type InteractionMatrix } from '../models/interactions.js';
import { createJsonlRunStore, type RunStore } from '../models/runs/index.js';
import { UsageError } from './command.js';
export { intFlag, numberFlag, parseFlags, requiredFlag } from './flags.js';
import { intFlag, numberFlag } from './flags.js';
import { loadConfig } from './config.js';
import { warehouseOptions } from './connect.js';
import { createAutoRunStore } from './run-store.js';

/** Flags shared by the commands that train BPR (train-bpr, recommend-items, eval interactions, tune). */
export const BPR_FLAGS = {
  factors: { type: 'string' },
  epochs: { type: 'string' },
  threads: { type: 'string' },
  lr: { type: 'string' },
  reg: { type: 'string' },
  negatives: { type: 'string' },
  'no-item-bias': { type: 'boolean', default: false },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'batch-size': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Defaults of the offline commands: tuned on Last.fm with protocol (b) (docs/models-bpr.md). */
export const BPR_CLI_DEFAULTS = { factors: 64, epochs: 100, threads: 2, lr: 0.05, reg: 0.01, negatives: 'uniform', seed: 42 } as const;

export const BPR_FLAGS_HELP = `BPR options:
  --factors F          latent factors (default ${BPR_CLI_DEFAULTS.factors})
  --epochs E           passes over the interactions (default ${BPR_CLI_DEFAULTS.epochs})
  --threads T          CPU worker threads, hogwild (default ${BPR_CLI_DEFAULTS.threads}; 1 = deterministic with --seed)
  --lr X               learning rate (default ${BPR_CLI_DEFAULTS.lr})
  --reg X              L2 regularisation (default ${BPR_CLI_DEFAULTS.reg})
  --negatives M        uniform | popularity (default ${BPR_CLI_DEFAULTS.negatives})
  --no-item-bias       no item bias term
  --seed S             seed (default ${BPR_CLI_DEFAULTS.seed})
  --backend B          cpu | tfjs | auto (default auto: TF.js only when tfjs-node-gpu loads, else cpu)
  --batch-size N       TF.js samples per step (default 1024)`;

/** node:util parseArgs in strict mode, its errors turned into usage errors. */




export function formatFlag(v: string | undefined): InteractionFormat {
  if (!v) throw new UsageError(`--format is required (${INTERACTION_FORMATS.join(' or ')})`);
  if (!INTERACTION_FORMATS.includes(v as InteractionFormat)) throw new UsageError(`--format must be one of ${INTERACTION_FORMATS.join(', ')}, got '${v}'`);
  return v as InteractionFormat;
}

type BprFlagValues = { [K in keyof typeof BPR_FLAGS]?: (typeof BPR_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** The BPR options given on the command line, over the offline defaults. */
export function bprOptionsFromFlags(v: BprFlagValues, log: (line: string) => void): CreateBprOptions {
  const negatives = v.negatives ?? BPR_CLI_DEFAULTS.negatives;
  if (negatives !== 'uniform' && negatives !== 'popularity') throw new UsageError(`--negatives must be uniform or popularity, got '${negatives}'`);
  const backend = v.backend ?? 'auto';
  if (backend !== 'cpu' && backend !== 'tfjs' && backend !== 'auto') throw new UsageError(`--backend must be cpu, tfjs or auto, got '${backend}'`);
  const seed = v.seed === undefined ? BPR_CLI_DEFAULTS.seed : Number(v.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${v.seed}'`);
  return {
    backend: backend as BprBackend,
    factors: intFlag('factors', v.factors, BPR_CLI_DEFAULTS.factors),
    epochs: intFlag('epochs', v.epochs, BPR_CLI_DEFAULTS.epochs),
    threads: intFlag('threads', v.threads, BPR_CLI_DEFAULTS.threads),
    learningRate: numberFlag('lr', v.lr, BPR_CLI_DEFAULTS.lr, Number.MIN_VALUE),
    regularization: numberFlag('reg', v.reg, BPR_CLI_DEFAULTS.reg, 0),
    negatives,
    itemBias: !v['no-item-bias'],
    seed,
    batchSize: intFlag('batch-size', v['batch-size'], 1024),
    log,
  };
}

/** A failure that is not a usage error: printed, exit code 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Reads an interactions file into a CSR matrix; a missing, unreadable or empty file is an {@link InputError}. */
export async function loadMatrix(path: string, format: InteractionFormat, log: (line: string) => void): Promise<InteractionMatrix> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new InputError(`--interactions ${path}: no such file`);
  const report = createLoadReport();
  const m = await buildInteractionMatrix(readInteractions(path, format, report));
  for (const r of report.rejected.slice(0, 5)) log(`rejected ${r.file}:${r.line}: ${r.reason}`);
  if (report.rejectedCount > 0 && report.records === 0) {
    const first = report.rejected[0];
    throw new InputError(`--interactions ${path}: no valid ${format} interactions (${report.rejectedCount} rejected; line ${first?.line}: ${first?.reason})`);
  }
  if (m.nnz === 0) throw new InputError(`--interactions ${path}: no interactions`);
  log(`${path}: ${report.records} rows (${report.rejectedCount} rejected) → ${m.users.ids.length} users × ${m.items.ids.length} items, ${m.nnz} pairs`);
  return m;
}

/** One progress line per epoch on stderr (every epoch for short runs, else about 20 lines). */
export function epochLogger(label: string, epochs: number): (r: EpochReport) => void {
  const every = Math.max(1, Math.floor(epochs / 20));
  return (r) => {
    if (r.epoch % every !== 0 && r.epoch !== 1 && r.epoch !== epochs) return;
    process.stderr.write(`[${label}] epoch ${r.epoch}/${epochs}  ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s  loss ${r.loss.toFixed(4)}  train AUC≈${r.auc.toFixed(4)}${r.skipped ? `  skipped ${r.skipped}` : ''}\n`);
  };
}

export const RUNS_FLAG = { runs: { type: 'string' } } as const;
export const DEFAULT_RUNS_FILE = 'runs/runs.jsonl';
export const RUNS_FLAG_HELP = `  --runs FILE          record the run in this JSON-lines file (default: ClickHouse when it answers, else ${DEFAULT_RUNS_FILE})`;

/** `--runs FILE` names a JSON-lines file; without it runs go to ClickHouse when it answers, else to the default file. */
export function runStoreFor(path: string | undefined): RunStore {
  if (path !== undefined) return createJsonlRunStore(path);
  return createAutoRunStore({
    clickhouse: warehouseOptions(loadConfig()),
    fallbackFile: DEFAULT_RUNS_FILE,
  });
}

/** Wraps a command body: InputError → message on stderr and exit 1. */
export async function withInputErrors(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
