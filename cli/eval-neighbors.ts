import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadInteractionMatrix, resolveInteractionFile } from '../data/index.js';
import { formatNeighborsTable, runNeighborsEval } from '../models/eval/index.js';
import { COUNT_WEIGHTINGS } from '../models/recommend/index.js';
import { codeVersion, hashFile, recordRun } from '../runs/index.js';
import { formatFlag } from './bpr-flags.js';
import { InputError, UsageError, type Command } from './command.js';
import { EMBEDDING_FLAGS, EMBEDDING_FLAGS_HELP, embeddingOptionsFromFlags } from './embedding-flags.js';
import { choiceFlag, intFlag, numberFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';
import { makeDirs } from './dirs.js';

const NAME = 'buddies eval neighbors';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets [options]

Protocol (c): does the pairing find users who share a user's taste? Of every user with at least 2 items a
seeded 20% (at least 1) is held out; neighbours are found from the rest only, by
  - the taste pairing of the live system: item embeddings learned from the training histories, each user's
    taste from the decayed taste model fed each item as a play weighted by log(1 + count), exact cosine KNN
    over tastes (what \`buddies offline neighbors\` runs);
  - plain cosine between users' log(1 + count) item vectors (exact);
  - K random users (the floor).
Reported per method and K: neighbour recall (the share of held-out items at least one of the K neighbours
has) and recall and NDCG at --at of the neighbours' vote (their items the user lacks, by how many of the K
neighbours have them; every neighbour votes 1, so only who the neighbours are matters).

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --holdout X          held-out share per user (default 0.2)
  --split-seed S       seed of the holdout and of the random neighbours (default 42)
  --k LIST             neighbour counts K, comma-separated (default 10,50)
  --at N               length of the vote list scored (default 10)
  --weighting W        how a play count weighs its item, in the taste and the cosine: ${COUNT_WEIGHTINGS.join(' | ')} (default log1p)
  --out FILE           JSON results (default out/eval-neighbors.json)
  --markdown FILE      also write the table as Markdown
${RUNS_FLAG_HELP}
${EMBEDDING_FLAGS_HELP}

Prints the table on stdout, progress on stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;

export const evalNeighborsCommand: Command = {
  summary: 'protocol (c) on an interactions file: taste pairing vs plain cosine vs random neighbours',
  help: HELP,
  async run(argv, ctx) {
    const v = parseFlags(argv, {
      interactions: { type: 'string' }, format: { type: 'string' }, holdout: { type: 'string' }, 'split-seed': { type: 'string' },
      k: { type: 'string' }, at: { type: 'string' }, weighting: { type: 'string' }, out: { type: 'string' }, markdown: { type: 'string' },
      ...EMBEDDING_FLAGS, ...RUNS_FLAG,
    });
    const log = (m: string): void => void process.stderr.write(`[eval neighbors] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const holdout = numberFlag('holdout', v.holdout, 0.2, Number.MIN_VALUE);
    if (holdout >= 1) throw new UsageError(`--holdout must be below 1, got '${v.holdout}'`);
    const seed = intFlag('split-seed', v['split-seed'], 42, -(2 ** 31));
    const ks = (v.k ?? '10,50').split(',').map((s) => intFlag('k', s.trim(), undefined));
    const at = intFlag('at', v.at, 10);
    const weighting = choiceFlag('weighting', v.weighting, COUNT_WEIGHTINGS, 'log1p');
    const pairing = embeddingOptionsFromFlags(v);
    const out = v.out ?? 'out/eval-neighbors.json';
    const startedAt = new Date().toISOString();
    const [m, dataHash, version] = await Promise.all([loadInteractionMatrix(path, format, log), resolveInteractionFile(path, format).then(hashFile), codeVersion()]);
    const result = await runNeighborsEval(m, { holdout, seed, ks, at, weighting, ...pairing, log });
    const table = formatNeighborsTable(result);
    process.stdout.write(`\n${table}`);
    const params = { holdout, splitSeed: seed, ks, at, weighting, ...pairing };
    try {
      await makeDirs(dirname(resolve(out)), 'choose a writable path for --out');
      await writeFile(out, `${JSON.stringify({ ...result, data: { path, format, hash: dataHash }, params, codeVersion: version ?? null, startedAt }, null, 2)}\n`);
      if (v.markdown) {
        await makeDirs(dirname(resolve(v.markdown)), 'choose a writable path for --markdown');
        await writeFile(v.markdown, table);
      }
    } catch (err) {
      throw new InputError(`cannot write results: ${err instanceof Error ? err.message : String(err)}`);
    }
    const run = await recordRun(runStoreFor(v.runs, ctx.config), {
      kind: 'eval', command: `eval neighbors ${argv.join(' ')}`, startedAt, codeVersion: version ?? null,
      params: { ...params, protocol: 'neighbors-holdout' },
      metrics: Object.fromEntries(result.rows.flatMap((r) => Object.entries(r.metrics).map(([key, val]) => [`${r.method.split(' ')[0]}.k${r.k}.${key}`, val]))),
      dataHash, dataPath: path, artifact: resolve(out),
    });
    log(`results in ${out}; run ${run.id}`);
    return 0;
  },
};

export default evalNeighborsCommand;
