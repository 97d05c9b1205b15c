/**
 * Time per ranked list of the live ranker with and without the track co-occurrence term, side by side in one process
 * (the reference is the same ranker with the term's weight 0), on seeded synthetic candidates shaped like the MPD
 * sample's: 300 buddies with one playlist each, playlists of 20–120 tracks drawn from a skewed 100k-track catalogue,
 * users who heard 10–60 of them. The two rankers alternate, list for list, so machine load falls on both alike.
 *
 * Usage: npx tsx bench/ranking-cost.ts [--users 2000] [--buddies 300] [--rounds 3] [--out bench/results/ranking-cost.md]
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createRng } from '../models/random.js';
import { createMemoryCatalog, createRanker, type PlaylistInfo, type RankingUser } from '../models/ranking/index.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    buddies: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write('usage: npx tsx bench/ranking-cost.ts [--users 2000] [--buddies 300] [--rounds 3] [--out FILE]\nSee the comment at the top of bench/ranking-cost.ts.\n');
  process.exit(0);
}
const count = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`ranking-cost: --${name} must be a positive integer, got ${v}\n`);
    process.exit(2);
  }
  return n;
};
const USERS = count('users', values.users);
const BUDDIES = count('buddies', values.buddies);
const ROUNDS = count('rounds', values.rounds);
const VOCAB = 100_000;

const rng = createRng(11);
const track = () => `t${Math.floor(VOCAB * rng.next() ** 3)}`; // skewed: low ids are popular
const dims = 8;
const unit = () => {
  const v = Float32Array.from({ length: dims }, () => rng.normal());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const playlists: PlaylistInfo[] = Array.from({ length: BUDDIES }, (_, i) => {
  const tracks = [...new Set(Array.from({ length: 20 + rng.int(101) }, track))];
  return { id: `p${i}`, owner: `b${i}`, tracks, followers: 1, engagement: 0, organic: true, centroid: unit().map((x) => x * 0.5) };
});
const catalog = createMemoryCatalog(playlists);
const buddies = playlists.map((p, i) => ({ id: p.owner, score: 0.9 - (0.5 * i) / BUDDIES }));
const users: RankingUser[] = Array.from({ length: USERS }, (_, u) => {
  const heard = new Set(Array.from({ length: 10 + rng.int(51) }, track));
  return { id: `u${u}`, taste: unit(), hasSignal: true, heard: (t) => heard.has(t), excluded: new Set() };
});

const rankers = { without: createRanker({ weights: { cooccurrence: 0 } }), with: createRanker() };
const ms = { without: 0, with: 0 };
let checksum = 0;
const t0 = Date.now();
for (let r = 0; r < ROUNDS; r++) {
  for (const [u, user] of users.entries()) {
    for (const name of (r + u) % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
      const s = performance.now();
      checksum += rankers[name].rank({ user, buddies, catalog, k: 10 }).length;
      ms[name] += performance.now() - s;
    }
  }
  process.stderr.write(`[ranking-cost] round ${r + 1}/${ROUNDS}\n`);
}
const lists = USERS * ROUNDS;
const per = (name: keyof typeof ms) => ms[name] / lists;
const tracks = playlists.reduce((n, p) => n + p.tracks.length, 0);
const report = `# Ranking cost of the track co-occurrence term

\`npx tsx bench/ranking-cost.ts --users ${USERS} --buddies ${BUDDIES} --rounds ${ROUNDS}\` (${new Date().toISOString().slice(0, 16)}Z; ${cpus().length} × ${cpus()[0]?.model.trim()},
load average ${loadavg()[0]!.toFixed(2)} at the end; Node ${process.version}; ${((Date.now() - t0) / 1000).toFixed(0)} s).

${BUDDIES} candidate playlists holding ${tracks.toLocaleString('en')} track slots; ${USERS} users, each ranked ${ROUNDS} times by both rankers
in alternating order (checksum ${checksum}). Time of \`ranker.rank\` per list (candidates, scores, MMR over 200, top 10):

| ranker | ms per list | lists per second |
| --- | --- | --- |
| defaults without co-occurrence (weight 0; the reference) | ${per('without').toFixed(3)} | ${Math.round(1000 / per('without'))} |
| defaults (co-occurrence weight 8) | ${per('with').toFixed(3)} | ${Math.round(1000 / per('with'))} |
| ratio | ${(per('with') / per('without')).toFixed(2)} | |
`;
process.stdout.write(report);
if (values.out) await writeFile(values.out, report);
