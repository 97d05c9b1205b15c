import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createBpr } from '../models/bpr/index.js';
import { bprRecommender, formatResultTable, markdownResultTable, runInteractionsProtocol } from '../models/eval/index.js';
import { loadInteractionMatrix, resolveInteractionFile } from '../data/index.js';
import { holdoutSplit, type InteractionMatrix } from '../models/interactions.js';
import { codeVersion, hashFile, recordRun } from '../runs/index.js';
import { BPR_FLAGS, BPR_FLAGS_HELP, bprOptionsFromFlags, epochLogger, formatFlag } from './bpr-flags.js';
import { InputError, UsageError, type Command } from './command.js';
import { choiceFlag, intFlag, numberFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';
import { makeDirs } from './dirs.js';

const NAME = 'buddies eval interactions';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets [options]

Protocol (b): of every user with at least 2 interactions, a seeded 20% (at least 1) is held out; BPR is
trained on the rest. Each method ranks the whole catalogue for each test user with the user's training
items left out (no sampled negatives); held-out items are the relevant ones. Reported at each K:
recall, precision, NDCG (binary relevance), coverage (distinct recommended items / catalogue) and novelty
(mean −log2 of the share of training users who have a recommended item). Popularity and random baselines
(the recommender's pickers, models/recommend) run in the same split.

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --holdout X          held-out share per user (default 0.2)
  --split-seed S       seed of the holdout (default 42)
  --k LIST             cut-offs, comma-separated (default 10,20)
  --on SPLIT           test (default) | validation: score on a validation part carved from the training
                       half the same way (seed split-seed + 1; what 'buddies tune' uses), so settings can be
                       chosen without ever looking at the test half
  --export-split DIR   also write the split as DIR/{train,test,fit,validation}.tsv (user index, item index,
                       weight; fit + validation = train) and DIR/split.json (ids, seeds), for outside
                       tools (bench/implicit-lastfm.py) to see exactly the same split
  --out FILE           JSON results (default out/eval-interactions.json)
  --markdown FILE      also write the table as Markdown
${RUNS_FLAG_HELP}
${BPR_FLAGS_HELP}

Prints the table on stdout, progress on stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

export const evalInteractionsCommand: Command = {
  summary: 'protocol (b) on an interactions file: BPR vs popularity and random',
  help: HELP,
  async run(argv, ctx) {
    const v = parseFlags(argv, {
      interactions: { type: 'string' }, format: { type: 'string' }, holdout: { type: 'string' }, 'split-seed': { type: 'string' },
      k: { type: 'string' }, out: { type: 'string' }, markdown: { type: 'string' }, on: { type: 'string' }, 'export-split': { type: 'string' },
      ...BPR_FLAGS, ...RUNS_FLAG,
    });
    const log = (m: string): void => void process.stderr.write(`[eval] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const holdout = numberFlag('holdout', v.holdout, 0.2, Number.MIN_VALUE);
    if (holdout >= 1) throw new UsageError(`--holdout must be below 1, got '${v.holdout}'`);
    const splitSeed = intFlag('split-seed', v['split-seed'], 42, -(2 ** 31));
    const ks = (v.k ?? '10,20').split(',').map((s) => intFlag('k', s.trim(), undefined));
    const out = v.out ?? 'out/eval-interactions.json';
    const on = choiceFlag('on', v.on, ['test', 'validation'] as const, 'test');
    const opts = bprOptionsFromFlags(v, log);
    const startedAt = new Date().toISOString();
    const [m, dataHash, version] = await Promise.all([loadInteractionMatrix(path, format, log), resolveInteractionFile(path, format).then(hashFile), codeVersion()]);
    const { train: trainHalf } = holdoutSplit(m, { fraction: holdout, seed: splitSeed });
    if (v['export-split']) await exportSplit(v['export-split'], m, trainHalf, holdout, splitSeed, log);
    // validation: the protocol runs on the training half alone, split once more with the next seed (as tune does)
    let backend = '';
    const result = await runInteractionsProtocol(on === 'test' ? m : trainHalf, {
      holdout,
      seed: on === 'test' ? splitSeed : splitSeed + 1,
      ks,
      methods: async (train) => {
        const model = await createBpr(opts);
        await model.fit(train, { onEpoch: epochLogger('eval bpr', model.options.epochs) });
        backend = model.backend;
        return [bprRecommender(model, train, `bpr (${model.backend})`)];
      },
    });
    process.stdout.write(`${formatResultTable(result)}\n`);
    const { log: _log, ...params } = opts;
    const json = { ...result, on, data: { path, format, hash: dataHash }, params, backend, codeVersion: version ?? null, startedAt };
    try {
      await makeDirs(dirname(resolve(out)), 'choose a writable path for --out');
      await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
      if (v.markdown) {
        const notes = [
          `Data: \`${path}\` (${format}, sha256 ${dataHash}): ${result.users} users × ${result.items} items; train ${result.trainInteractions}, held out ${result.testInteractions} (${result.testUsers} test users).`,
          on === 'test'
            ? `Protocol (b): seeded ${holdout * 100}% holdout per user (split seed ${splitSeed}); full ranking, training items excluded.`
            : `Protocol (b) on VALIDATION: the training half of the seeded ${holdout * 100}% holdout (split seed ${splitSeed}) split again (seed ${splitSeed + 1}); the test half is not used.`,
          `BPR: ${JSON.stringify(params)}; backend ${backend}; code ${version ?? 'unknown'}.`,
          `Command: \`buddies eval interactions ${argv.join(' ')}\``,
        ];
        await makeDirs(dirname(resolve(v.markdown)), 'choose a writable path for --markdown');
        await writeFile(v.markdown, markdownResultTable(result, `Protocol (b) on ${format}`, notes));
      }
    } catch (err) {
      throw new InputError(`cannot write results: ${err instanceof Error ? err.message : String(err)}`);
    }
    const bpr = result.methods.find((x) => x.name.startsWith('bpr'));
    const run = await recordRun(runStoreFor(v.runs, ctx.config), {
      kind: 'eval', command: `eval interactions ${argv.join(' ')}`, startedAt, codeVersion: version ?? null,
      params: { ...params, protocol: 'interactions-holdout', holdout, splitSeed, ks, on }, metrics: Object.fromEntries(result.methods.flatMap((x) => Object.entries(x.metrics).map(([k, val]) => [`${x.name.split(' ')[0]}.${k}`, val]))),
      dataHash, dataPath: path, artifact: resolve(out), backend,
    });
    log(`results in ${out}; run ${run.id}${bpr ? `; BPR ndcg@${ks[0]} ${bpr.metrics[`ndcg@${ks[0]}`]?.toFixed(4)}` : ''}`);
    return 0;
  },
};

/**
 * Writes the protocol's split for outside tools: train/test (split seed) and fit/validation (the training half split
 * again with split seed + 1, as `--on validation` and `buddies tune` do), one `user\titem\tweight` row per pair in
 * index space, plus split.json with the id maps and seeds. All four share the id maps of the whole file.
 */
async function exportSplit(dir: string, m: InteractionMatrix, train: InteractionMatrix, holdout: number, splitSeed: number, log: (line: string) => void): Promise<void> {
  const { test } = holdoutSplit(m, { fraction: holdout, seed: splitSeed });
  const { train: fit, test: validation } = holdoutSplit(train, { fraction: holdout, seed: splitSeed + 1 });
  const tsv = (x: InteractionMatrix): string => {
    const rows: string[] = [];
    for (let j = 0; j < x.nnz; j++) rows.push(`${x.userOf[j]}\t${x.indices[j]}\t${x.weights[j]}`);
    return rows.length ? `${rows.join('\n')}\n` : '';
  };
  try {
    await makeDirs(dir, 'choose a writable folder for --export-split');
    const parts = { train, test, fit, validation };
    for (const [name, x] of Object.entries(parts)) await writeFile(resolve(dir, `${name}.tsv`), tsv(x));
    const meta = {
      users: m.users.ids.length, items: m.items.ids.length, holdout, splitSeed, validationSeed: splitSeed + 1,
      nnz: Object.fromEntries(Object.entries(parts).map(([k, x]) => [k, x.nnz])), userIds: m.users.ids, itemIds: m.items.ids,
    };
    await writeFile(resolve(dir, 'split.json'), `${JSON.stringify(meta)}\n`);
  } catch (err) {
    throw new InputError(`cannot write the split to ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  log(`split written to ${dir} (train ${train.nnz}, test ${test.nnz}, fit ${fit.nnz}, validation ${validation.nnz})`);
}
