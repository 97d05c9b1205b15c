import { writeFile } from 'node:fs/promises';
import { createLoadReport, DatasetError, readInteractions, resolveInteractionFile } from '../data/index.js';
import { computeNeighbors } from '../models/pipeline/index.js';
import { formatFlag } from './bpr-flags.js';
import { InputError, type Command } from './command.js';
import { EMBEDDING_FLAGS, EMBEDDING_FLAGS_HELP, embeddingOptionsFromFlags } from './embedding-flags.js';
import { intFlag, parseFlags, requiredFlag } from './flags.js';

const NAME = 'buddies offline neighbors';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets --k K --out FILE [options]

For every user, their K most similar users by taste, with the taste and pairing of the live recommender:
item embeddings learned from user-item co-occurrence (PPMI + randomised SVD); each user's taste from the
decayed taste model fed each of their items as a play, weighted by log(1 + count), all at one time (so
the unit weighted mean of the items' embeddings); then cosine KNN (the user themself left out).

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --k K                neighbours per user
  --out FILE           JSON lines {"user": "...", "neighbors": ["...", ...]} (best first; empty for a user
                       none of whose items has an embedding)
${EMBEDDING_FLAGS_HELP}

Progress goes to stderr. Exit: 0 ok, 1 unreadable input, 2 bad flags.`;


export const offlineNeighborsCommand: Command = {
  summary: 'K most similar users by taste for every user of an interactions file',
  help: HELP,
  async run(argv) {
    const values = parseFlags(argv, { interactions: { type: 'string' }, format: { type: 'string' }, k: { type: 'string' }, out: { type: 'string' }, ...EMBEDDING_FLAGS });
    const path = requiredFlag('interactions', values.interactions);
    const out = requiredFlag('out', values.out);
    const format = formatFlag(values.format);
    const k = intFlag('k', values.k, undefined);
    const pairing = embeddingOptionsFromFlags(values);
    const log = (m: string) => process.stderr.write(`[neighbors] ${m}\n`);

    const file = await resolveInteractionFile(path, format);
    const report = createLoadReport();
    const { neighbors } = await computeNeighbors(readInteractions(file, format, report), { k, ...pairing, log });
    log(`${report.records} interactions read, ${report.rejectedCount} rejected`);
    for (const r of report.rejected.slice(0, 5)) log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
    if (report.records === 0) {
      throw new DatasetError(`--interactions ${path}: no valid ${format} interactions${report.rejectedCount ? ` (${report.rejectedCount} rejected lines, e.g. line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason})` : ''}`);
    }
    const lines = [...neighbors].map(([user, ns]) => JSON.stringify({ user, neighbors: ns.map((n) => n.id) }));
    await writeFile(out, lines.length ? `${lines.join('\n')}\n` : '').catch((err: unknown) => {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`wrote ${neighbors.size} users to ${out}`);
    return 0;
  },
};

export default offlineNeighborsCommand;
