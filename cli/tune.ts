import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadInteractionMatrix, resolveInteractionFile } from '../data/index.js';
import { SEARCH_SPACE, tuneBpr } from '../models/eval/index.js';
import { hashFile, recordRun } from '../runs/index.js';
import { formatFlag } from './bpr-flags.js';
import { InputError, type Command } from './command.js';
import { intFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';
import { makeDirs } from './dirs.js';

const NAME = 'buddies tune';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets [options]

Random search over BPR hyperparameters on protocol (b). The data is split as in 'buddies eval
interactions' (seeded 20% holdout per user); the training half is split once more the same way into fit
and validation parts. Each trial trains on the fit part and is scored by NDCG@K on validation (full
ranking, training items excluded). The best configuration is then trained on the whole training half and
scored once on the test half, next to popularity. The test half never guides the search.

Space: factors ${SEARCH_SPACE.factors.join('|')}, epochs ${SEARCH_SPACE.epochs.join('|')}, lr log-uniform ${SEARCH_SPACE.learningRate.join('..')},
reg log-uniform ${SEARCH_SPACE.regularization.join('..')}, negatives ${SEARCH_SPACE.negatives.join('|')}.

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --trials N           configurations tried (default 12)
  --k K                NDCG cut-off (default 10)
  --seed S             search seed (default 1); training seed 42
  --split-seed S       holdout seed (default 42, as eval)
  --threads T          CPU worker threads per trial (default 1: deterministic)
  --out FILE           JSON with every trial (default out/tune.json)
${RUNS_FLAG_HELP}

Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

export const tuneCommand: Command = {
  summary: 'random search over BPR hyperparameters on protocol (b); reports the best configuration',
  help: HELP,
  async run(argv, ctx) {
    const v = parseFlags(argv, {
      interactions: { type: 'string' }, format: { type: 'string' }, trials: { type: 'string' }, k: { type: 'string' }, seed: { type: 'string' },
      'split-seed': { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' }, ...RUNS_FLAG,
    });
    const log = (m: string): void => void process.stderr.write(`[tune] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const trials = intFlag('trials', v.trials, 12);
    const k = intFlag('k', v.k, 10);
    const seed = intFlag('seed', v.seed, 1, -(2 ** 31));
    const splitSeed = intFlag('split-seed', v['split-seed'], 42, -(2 ** 31));
    const threads = intFlag('threads', v.threads, 1);
    const out = v.out ?? 'out/tune.json';
    const startedAt = new Date().toISOString();
    const [m, dataHash] = await Promise.all([loadInteractionMatrix(path, format, log), resolveInteractionFile(path, format).then(hashFile)]);
    const r = await tuneBpr(m, { trials, k, seed, splitSeed, threads, log });
    const { key, best } = r;
    process.stdout.write(
      [
        `trials ${trials}, validation ${key}:`,
        ...[...r.trials].sort((a, b) => b.validation[key]! - a.validation[key]!).map((t) => `  ${t.validation[key]!.toFixed(4)}  ${JSON.stringify(t.params)}`),
        `best: ${JSON.stringify(best.params)}`,
        `test ${key}: bpr ${r.test.bpr[key]!.toFixed(4)}   popularity ${r.test.popularity[key]!.toFixed(4)}`,
        `flags: --factors ${best.params.factors} --epochs ${best.params.epochs} --lr ${best.params.learningRate} --reg ${best.params.regularization} --negatives ${best.params.negatives}`,
        '',
      ].join('\n'),
    );
    try {
      await makeDirs(dirname(resolve(out)), 'choose a writable path for --out');
      await writeFile(out, `${JSON.stringify({ data: { path, format, hash: dataHash }, splitSeed, seed, k, trials: r.trials, best: best.params, test: { bpr: r.test.bpr, popularity: r.test.popularity } }, null, 2)}\n`);
    } catch (err) {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const run = await recordRun(runStoreFor(v.runs, ctx.config), {
      kind: 'tune', command: `tune ${argv.join(' ')}`, startedAt,
      params: { ...best.params, trials, k, seed, splitSeed }, metrics: { [`validation.${key}`]: best.validation[key]!, [`bpr.${key}`]: r.test.bpr[key]!, [`popularity.${key}`]: r.test.popularity[key]! },
      dataHash, dataPath: path, artifact: resolve(out), backend: r.test.backend,
    });
    log(`run ${run.id}`);
    return 0;
  },
};
