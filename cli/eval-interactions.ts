import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createBpr } from '../models/bpr/index.js';
import { bprRecommender, formatResultTable, markdownResultTable, runInteractionsProtocol } from '../models/eval/index.js';
import { loadInteractionMatrix, resolveInteractionFile } from '../data/index.js';
import { codeVersion, hashFile, recordRun } from '../runs/index.js';
import { BPR_FLAGS, BPR_FLAGS_HELP, bprOptionsFromFlags, epochLogger, formatFlag } from './bpr-flags.js';
import { InputError, UsageError, type Command } from './command.js';
import { intFlag, numberFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';

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
      k: { type: 'string' }, out: { type: 'string' }, markdown: { type: 'string' }, ...BPR_FLAGS, ...RUNS_FLAG,
    });
    const log = (m: string): void => void process.stderr.write(`[eval] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const holdout = numberFlag('holdout', v.holdout, 0.2, Number.MIN_VALUE);
    if (holdout >= 1) throw new UsageError(`--holdout must be below 1, got '${v.holdout}'`);
    const splitSeed = intFlag('split-seed', v['split-seed'], 42, -(2 ** 31));
    const ks = (v.k ?? '10,20').split(',').map((s) => intFlag('k', s.trim(), undefined));
    const out = v.out ?? 'out/eval-interactions.json';
    const opts = bprOptionsFromFlags(v, log);
    const startedAt = new Date().toISOString();
    const [m, dataHash, version] = await Promise.all([loadInteractionMatrix(path, format, log), resolveInteractionFile(path, format).then(hashFile), codeVersion()]);
    let backend = '';
    const result = await runInteractionsProtocol(m, {
      holdout,
      seed: splitSeed,
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
    const json = { ...result, data: { path, format, hash: dataHash }, params, backend, codeVersion: version ?? null, startedAt };
    try {
      await mkdir(dirname(resolve(out)), { recursive: true });
      await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
      if (v.markdown) {
        const notes = [
          `Data: \`${path}\` (${format}, sha256 ${dataHash}): ${result.users} users × ${result.items} items; train ${result.trainInteractions}, held out ${result.testInteractions} (${result.testUsers} test users).`,
          `Protocol (b): seeded ${holdout * 100}% holdout per user (split seed ${splitSeed}); full ranking, training items excluded.`,
          `BPR: ${JSON.stringify(params)}; backend ${backend}; code ${version ?? 'unknown'}.`,
          `Command: \`buddies eval interactions ${argv.join(' ')}\``,
        ];
        await mkdir(dirname(resolve(v.markdown)), { recursive: true });
        await writeFile(v.markdown, markdownResultTable(result, `Protocol (b) on ${format}`, notes));
      }
    } catch (err) {
      throw new InputError(`cannot write results: ${err instanceof Error ? err.message : String(err)}`);
    }
    const bpr = result.methods.find((x) => x.name.startsWith('bpr'));
    const run = await recordRun(runStoreFor(v.runs, ctx.config), {
      kind: 'eval', command: `eval interactions ${argv.join(' ')}`, startedAt, codeVersion: version ?? null,
      params: { ...params, protocol: 'interactions-holdout', holdout, splitSeed, ks }, metrics: Object.fromEntries(result.methods.flatMap((x) => Object.entries(x.metrics).map(([k, val]) => [`${x.name.split(' ')[0]}.${k}`, val]))),
      dataHash, dataPath: path, artifact: resolve(out), backend,
    });
    log(`results in ${out}; run ${run.id}${bpr ? `; BPR ndcg@${ks[0]} ${bpr.metrics[`ndcg@${ks[0]}`]?.toFixed(4)}` : ''}`);
    return 0;
  },
};
