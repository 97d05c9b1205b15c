import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createBpr, type BprOptions } from '../models/bpr/index.js';
import { createRng, type Rng } from '../models/embeddings/index.js';
import { bprRecommender, popularityRecommender, scoreLists, type MetricValues } from '../models/eval/index.js';
import { holdoutSplit, type InteractionMatrix } from '../models/interactions.js';
import { codeVersion, hashFile } from '../models/runs/index.js';
import { formatFlag, InputError, intFlag, loadMatrix, parseFlags, requiredFlag, RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor, withInputErrors } from './bpr-flags.js';
import type { Command } from './command.js';

const NAME = 'buddies tune';

/** The search space of `buddies tune` (random search). */
export const SEARCH_SPACE = {
  factors: [16, 32, 64, 128],
  epochs: [25, 50, 100, 200],
  learningRate: [0.01, 0.2],
  regularization: [0.0001, 0.05],
  negatives: ['uniform', 'popularity'],
} as const;

/** One random configuration: factors, epochs and negatives uniform over their lists; lr and reg log-uniform. */
export function sampleConfig(rng: Rng): Pick<BprOptions, 'factors' | 'epochs' | 'learningRate' | 'regularization' | 'negatives'> {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const logUniform = ([lo, hi]: readonly [number, number]): number => Number(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))).toPrecision(3));
  return {
    factors: pick(SEARCH_SPACE.factors),
    epochs: pick(SEARCH_SPACE.epochs),
    learningRate: logUniform(SEARCH_SPACE.learningRate),
    regularization: logUniform(SEARCH_SPACE.regularization),
    negatives: pick(SEARCH_SPACE.negatives),
  };
}

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
  --out FILE           JSON with every trial (default runs/tune.json)
${RUNS_FLAG_HELP}

Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

async function trial(params: Partial<BprOptions>, fit: InteractionMatrix, score: InteractionMatrix, k: number): Promise<{ metrics: MetricValues; seconds: number; backend: string }> {
  const t0 = performance.now();
  const model = await createBpr({ ...params, backend: 'cpu' });
  await model.fit(fit);
  const users = Int32Array.from({ length: fit.users.ids.length }, (_, u) => u).filter((u) => score.indptr[u + 1]! > score.indptr[u]!);
  const lists = await bprRecommender(model, fit).recommend(users, k);
  return { metrics: scoreLists(lists, users, fit, score, [k]), seconds: (performance.now() - t0) / 1000, backend: model.backend };
}

export const tuneCommand: Command = {
  summary: 'random search over BPR hyperparameters on protocol (b); reports the best configuration',
  help: HELP,
  run: (argv) =>
    withInputErrors(NAME, async () => {
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
      const out = v.out ?? 'runs/tune.json';
      const startedAt = new Date().toISOString();
      const [m, dataHash, version] = await Promise.all([loadMatrix(path, format, log), hashFile(path), codeVersion()]);
      const { train, test } = holdoutSplit(m, { seed: splitSeed });
      const { train: fit, test: validation } = holdoutSplit(train, { seed: splitSeed + 1 });
      const rng = createRng(seed);
      const key = `ndcg@${k}`;
      const results: Array<{ params: ReturnType<typeof sampleConfig>; validation: MetricValues; seconds: number }> = [];
      for (let t = 0; t < trials; t++) {
        const params = sampleConfig(rng);
        const r = await trial({ ...params, threads }, fit, validation, k);
        results.push({ params, validation: r.metrics, seconds: r.seconds });
        const best = Math.max(...results.map((x) => x.validation[key]!));
        log(`trial ${t + 1}/${trials} ${JSON.stringify(params)} → validation ${key} ${r.metrics[key]!.toFixed(4)} (best ${best.toFixed(4)}, ${r.seconds.toFixed(1)}s)`);
      }
      const best = results.reduce((a, b) => (b.validation[key]! > a.validation[key]! ? b : a));
      log(`best on validation: ${JSON.stringify(best.params)}; retraining on the training half and scoring on test`);
      const final = await trial({ ...best.params, threads }, train, test, k);
      const users = Int32Array.from({ length: m.users.ids.length }, (_, u) => u).filter((u) => test.indptr[u + 1]! > test.indptr[u]!);
      const pop = scoreLists(await popularityRecommender(train).recommend(users, k), users, train, test, [k]);
      process.stdout.write(
        [
          `trials ${trials}, validation ${key}:`,
          ...[...results].sort((a, b) => b.validation[key]! - a.validation[key]!).map((r) => `  ${r.validation[key]!.toFixed(4)}  ${JSON.stringify(r.params)}`),
          `best: ${JSON.stringify(best.params)}`,
          `test ${key}: bpr ${final.metrics[key]!.toFixed(4)}   popularity ${pop[key]!.toFixed(4)}`,
          `flags: --factors ${best.params.factors} --epochs ${best.params.epochs} --lr ${best.params.learningRate} --reg ${best.params.regularization} --negatives ${best.params.negatives}`,
          '',
        ].join('\n'),
      );
      try {
        await mkdir(dirname(resolve(out)), { recursive: true });
        await writeFile(out, `${JSON.stringify({ data: { path, format, hash: dataHash }, splitSeed, seed, k, trials: results, best: best.params, test: { bpr: final.metrics, popularity: pop }, codeVersion: version ?? null }, null, 2)}\n`);
      } catch (err) {
        throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const run = await runStoreFor(v.runs).record({
        kind: 'tune', command: `tune ${argv.join(' ')}`, startedAt, seconds: (Date.now() - Date.parse(startedAt)) / 1000,
        params: { ...best.params, trials, k, seed, splitSeed }, metrics: { [`validation.${key}`]: best.validation[key]!, [`bpr.${key}`]: final.metrics[key]!, [`popularity.${key}`]: pop[key]! },
        dataHash, dataPath: path, artifact: resolve(out), backend: final.backend, ...(version ? { codeVersion: version } : {}),
      });
      log(`run ${run.id}`);
      return 0;
    }),
};
