import type { ParseArgsConfig } from 'node:util';
import { INTERACTION_FORMATS, type InteractionFormat } from '../data/index.js';
import { DEFAULT_BPR_OPTIONS, type BprBackend, type CreateBprOptions, type EpochReport, type NegativeSampling } from '../models/bpr/index.js';
import { choiceFlag, intFlag, numberFlag } from './flags.js';

const NEGATIVES: readonly NegativeSampling[] = ['uniform', 'popularity'];
const BACKENDS: readonly BprBackend[] = ['cpu', 'tfjs', 'auto'];

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
  confidence: { type: 'string' },
  'lr-decay': { type: 'string' },
  'negative-candidates': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const D = DEFAULT_BPR_OPTIONS;

export const BPR_FLAGS_HELP = `BPR options:
  --factors F          latent factors (default ${D.factors})
  --epochs E           passes over the interactions (default ${D.epochs})
  --threads T          CPU worker threads, hogwild (default ${D.threads}: deterministic with --seed; 2 uses both cores here)
  --lr X               learning rate of the first epoch (default ${D.learningRate}; see --lr-decay)
  --reg X              L2 regularisation (default ${D.regularization})
  --negatives M        uniform | popularity (default ${D.negatives})
  --no-item-bias       no item bias term
  --seed S             seed (default ${D.seed})
  --backend B          cpu | tfjs | auto (default auto: TF.js only when tfjs-node-gpu loads, else cpu)
  --batch-size N       TF.js samples per step (default ${D.batchSize})
  --confidence A       draw an interaction of weight w (play count) as a positive with probability
                       ∝ 1 + A·ln(1 + w); 0 draws all alike, as implicit (default ${D.confidence})
  --negative-candidates N
                       negatives drawn per sample, the highest-scoring one used (dynamic negative
                       sampling); 1 = a plain draw, as implicit (default ${D.negativeCandidates})
  --lr-decay X         last epoch's learning rate as a share of --lr, linear in between; 1 = constant
                       (default ${D.learningRateDecay})`;

export function formatFlag(v: string | undefined): InteractionFormat {
  return choiceFlag('format', v, INTERACTION_FORMATS);
}

type BprFlagValues = { [K in keyof typeof BPR_FLAGS]?: (typeof BPR_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** The BPR options given on the command line, over the model's defaults (`DEFAULT_BPR_OPTIONS`). */
export function bprOptionsFromFlags(v: BprFlagValues, log: (line: string) => void): CreateBprOptions {
  const negatives = choiceFlag('negatives', v.negatives, NEGATIVES, D.negatives);
  const backend = choiceFlag('backend', v.backend, BACKENDS, 'auto');
  const seed = intFlag('seed', v.seed, D.seed, -(2 ** 31));
  return {
    backend,
    factors: intFlag('factors', v.factors, D.factors),
    epochs: intFlag('epochs', v.epochs, D.epochs),
    threads: intFlag('threads', v.threads, D.threads),
    learningRate: numberFlag('lr', v.lr, D.learningRate, Number.MIN_VALUE),
    regularization: numberFlag('reg', v.reg, D.regularization, 0),
    negatives,
    itemBias: !v['no-item-bias'],
    seed,
    batchSize: intFlag('batch-size', v['batch-size'], D.batchSize),
    confidence: numberFlag('confidence', v.confidence, D.confidence, 0),
    negativeCandidates: intFlag('negative-candidates', v['negative-candidates'], D.negativeCandidates),
    learningRateDecay: numberFlag('lr-decay', v['lr-decay'], D.learningRateDecay, Number.MIN_VALUE, 1),
    log,
  };
}

/** One progress line per epoch on stderr (every epoch for short runs, else about 20 lines). */
export function epochLogger(label: string, epochs: number): (r: EpochReport) => void {
  const every = Math.max(1, Math.floor(epochs / 20));
  return (r) => {
    if (r.epoch % every !== 0 && r.epoch !== 1 && r.epoch !== epochs) return;
    process.stderr.write(`[${label}] epoch ${r.epoch}/${epochs}  ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s  loss ${r.loss.toFixed(4)}  train AUC≈${r.auc.toFixed(4)}${r.skipped ? `  skipped ${r.skipped}` : ''}\n`);
  };
}

