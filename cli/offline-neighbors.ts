import { stat, writeFile } from 'node:fs/promises';
import { createLoadReport, INTERACTION_FORMATS, readInteractions, type InteractionFormat } from '../data/index.js';
import { computeNeighbors } from '../models/pipeline/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, parseFlags } from './flags.js';

const NAME = 'buddies offline neighbors';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets --k K --out FILE [options]

For every user, their K most similar users by taste, with the pairing model: item embeddings learned
from user-item co-occurrence (PPMI + randomised SVD), each user's taste = the mean of their items'
embeddings weighted by log(1 + count), then exact cosine KNN (the user themself left out).

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --k K                neighbours per user
  --out FILE           JSON lines {"user": "...", "neighbors": ["...", ...]} (best first; empty for a user
                       none of whose items has an embedding)
  --dims D             embedding size (default 64)
  --method M           ppmi-svd (default) or sgns
  --min-count N        items in fewer users' histories get no embedding (default 2)
  --index I            exact (default) or hnsw
  --threads T          worker threads for the exact KNN (default 2)
  --seed S             seed (default 1)

Progress goes to stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;


export const offlineNeighborsCommand: Command = {
  summary: 'K most similar users by taste for every user of an interactions file',
  help: HELP,
  async run(argv) {
    const values = parseFlags(argv, {
      interactions: { type: 'string' },
      format: { type: 'string' },
      k: { type: 'string' },
      out: { type: 'string' },
      dims: { type: 'string' },
      method: { type: 'string' },
      'min-count': { type: 'string' },
      index: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
    });
    if (!values.interactions) throw new UsageError('--interactions is required');
    if (!values.out) throw new UsageError('--out is required');
    const format = values.format;
    if (!format) throw new UsageError('--format is required (lastfm or triplets)');
    if (!INTERACTION_FORMATS.includes(format as InteractionFormat)) throw new UsageError(`--format must be one of ${INTERACTION_FORMATS.join(', ')}, got '${format}'`);
    const k = intFlag('k', values.k, undefined);
    const dims = intFlag('dims', values.dims, 64);
    const minCount = intFlag('min-count', values['min-count'], 2);
    const threads = intFlag('threads', values.threads, 2);
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${values.seed}'`);
    const method = values.method ?? 'ppmi-svd';
    if (method !== 'ppmi-svd' && method !== 'sgns') throw new UsageError(`--method must be ppmi-svd or sgns, got '${method}'`);
    const index = values.index ?? 'exact';
    if (index !== 'exact' && index !== 'hnsw') throw new UsageError(`--index must be exact or hnsw, got '${index}'`);
    const log = (m: string) => process.stderr.write(`[neighbors] ${m}\n`);

    const fail = (msg: string) => {
      process.stderr.write(`${NAME}: ${msg}\n`);
      return 1;
    };
    const st = await stat(values.interactions).catch(() => undefined);
    if (!st?.isFile()) return fail(`--interactions ${values.interactions}: no such file`);
    const report = createLoadReport();
    const { neighbors } = await computeNeighbors(readInteractions(values.interactions, format as InteractionFormat, report), {
      k, index, threads, log, embeddings: { method, dims, minCount, seed },
    });
    log(`${report.records} interactions read, ${report.rejectedCount} rejected`);
    for (const r of report.rejected.slice(0, 5)) log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
    if (report.records === 0) {
      return fail(`--interactions ${values.interactions}: no valid ${format} interactions${report.rejectedCount ? ` (${report.rejectedCount} rejected lines, e.g. line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason})` : ''}`);
    }
    const lines = [...neighbors].map(([user, ns]) => JSON.stringify({ user, neighbors: ns.map((n) => n.id) }));
    try {
      await writeFile(values.out, lines.length ? `${lines.join('\n')}\n` : '');
    } catch (err) {
      return fail(`--out ${values.out}: ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`wrote ${neighbors.size} users to ${values.out}`);
    return 0;
  },
};

export default offlineNeighborsCommand;
