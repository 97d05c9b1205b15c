import { readFile, writeFile } from 'node:fs/promises';
import { createBpr } from '../models/bpr/index.js';
import { itemCounts } from '../models/interactions.js';
import { loadInteractionMatrix } from '../data/index.js';
import { BPR_FLAGS, BPR_FLAGS_HELP, bprOptionsFromFlags, epochLogger, formatFlag } from './bpr-flags.js';
import { InputError, type Command } from './command.js';
import { intFlag, parseFlags, requiredFlag } from './flags.js';

const NAME = 'buddies offline recommend-items';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets --users FILE --k K --factors F --epochs E --threads T --out FILE [options]

Trains BPR on all the users × items interactions of FILE, then writes one JSON line per user of the users
file, in its order: {"user": "...", "items": ["...", ...]}: the K best items that are not among the user's
training interactions, best first. A user absent from the interactions gets the K most popular items.
Progress (epoch, samples/s, loss, training AUC estimate) goes to stderr.

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --users FILE         user ids, one a line (blank lines ignored)
  --k K                items per user
  --out FILE           JSON lines output
${BPR_FLAGS_HELP}

Exit: 0 ok, 1 unreadable input or output, 2 bad flags.`;

export const offlineRecommendItemsCommand: Command = {
  summary: 'train BPR on interactions and write the top K new items for each listed user',
  help: HELP,
  async run(argv) {
    const v = parseFlags(argv, {
      interactions: { type: 'string' }, format: { type: 'string' }, users: { type: 'string' }, k: { type: 'string' }, out: { type: 'string' }, ...BPR_FLAGS,
    });
    const log = (m: string): void => void process.stderr.write(`[recommend-items] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const usersPath = requiredFlag('users', v.users);
    const k = intFlag('k', v.k, undefined);
    const out = requiredFlag('out', v.out);
    const opts = bprOptionsFromFlags(v, log);
    let wanted: string[];
    try {
      wanted = (await readFile(usersPath, 'utf8')).split('\n').map((l) => l.replace(/\r$/, '').trim()).filter((l) => l !== '');
    } catch (err) {
      throw new InputError(`--users ${usersPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const m = await loadInteractionMatrix(path, format, log);
    const model = await createBpr(opts);
    await model.fit(m, { onEpoch: epochLogger('recommend-items', model.options.epochs) });
    const known = wanted.map((id) => m.users.indexOf(id));
    const unknown = known.filter((u) => u === undefined).length;
    if (unknown > 0) log(`${unknown} of ${wanted.length} users are not in the interactions: they get the most popular items`);
    const counts = itemCounts(m);
    const topPopular = Array.from(counts.keys()).sort((a, b) => counts[b]! - counts[a]! || a - b).slice(0, k).map((i) => m.items.ids[i]!);
    const recs = model.recommendMany(known.filter((u): u is number => u !== undefined), k, m);
    let j = 0;
    const lines = wanted.map((user, n) => {
      const items = known[n] === undefined ? topPopular : Array.from(recs[j++]!.items, (i) => m.items.ids[i]!);
      return JSON.stringify({ user, items });
    });
    try {
      await writeFile(out, lines.length ? `${lines.join('\n')}\n` : '');
    } catch (err) {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`wrote ${lines.length} users to ${out} (backend ${model.backend})`);
    return 0;
  },
};
