import { parseFlags } from './flags.js';
import { generateWorld, WorldExistsError, WorldOptionsError, type GenerateProgress, type WorldOptions } from '../data/index.js';
import { UsageError, type Command } from './command.js';
import { createProgressLine, type ProgressLine } from './progress.js';
import { makeDirs } from './dirs.js';

const HELP = `usage: buddies generate --users N --playlists N --seed S --out DIR [options]

Writes a synthetic world in the formats of the real datasets, streaming with bounded memory:
  DIR/mpd.slice.A-B.json       Million Playlist Dataset slices, full track schema, 1000 playlists each
  DIR/triplets.tsv             Taste Profile triplets: user<TAB>track_uri<TAB>play_count
  DIR/owners.tsv               pid<TAB>user            DIR/follows.tsv   user<TAB>pid
  DIR/truth/users.jsonl        each user's hidden taste communities and weights, and activity
  DIR/truth/communities.jsonl  DIR/truth/playlists.tsv  DIR/truth/tracks.tsv
  DIR/world.json               options, counts and file sizes
The same options and seed give byte-identical files. Formats and knobs: docs/data.md.

required:
  --users N              users (owners, followers, listeners)
  --playlists N          playlists (the MPD has 1,000,000)
  --seed S               integer 0..4294967295
  --out DIR              output folder (created); refuses one that already holds a world unless --force

world knobs (defaults in docs/data.md):
  --communities N        taste communities           --tracks N          catalogue size
  --artists N            artists                     --track-zipf X      popularity skew within a community
  --community-zipf X     skew of community sizes     --max-communities N communities per user, at most
  --mean-length N        mean playlist length        --mix P             chance a playlist mixes 2 communities
  --noise P              share of off-taste entries  --follower-alpha X  Pareto tail of followers
  --plays-per-user N     mean triplet rows per user  --slice-size N      playlists per slice file

output:
  --gzip                 write .json.gz slices and triplets.tsv.gz
  --quiet                no progress on stderr
  --force                delete the world already in DIR (only the files listed above) first
`;

const NUMERIC: ReadonlyArray<[flag: string, key: keyof WorldOptions]> = [
  ['users', 'users'],
  ['playlists', 'playlists'],
  ['seed', 'seed'],
  ['communities', 'communities'],
  ['tracks', 'tracks'],
  ['artists', 'artists'],
  ['track-zipf', 'trackZipf'],
  ['community-zipf', 'communityZipf'],
  ['max-communities', 'maxCommunitiesPerUser'],
  ['mean-length', 'meanPlaylistLength'],
  ['mix', 'mixProbability'],
  ['noise', 'noise'],
  ['follower-alpha', 'followerAlpha'],
  ['plays-per-user', 'playsPerUser'],
  ['slice-size', 'sliceSize'],
];

function progressPrinter(): (p: GenerateProgress) => void {
  let phase = '';
  let line: ProgressLine | undefined;
  return (p) => {
    if (p.phase !== phase) {
      line?.end();
      phase = p.phase;
      // playlists and plays count the rows they write; users and tracks count themselves
      line = createProgressLine(p.phase, { countUnit: p.rows > 0 || p.phase === 'playlists' || p.phase === 'plays' ? 'rows' : p.phase });
    }
    line?.update(p.done, p.total, p.phase === 'playlists' || p.phase === 'plays' ? p.rows : p.done);
    if (p.done === p.total && p.phase === 'tracks') line?.end();
  };
}

export const generateCommand: Command = {
  summary: 'write a synthetic world: MPD slices, Taste Profile triplets, follows and planted taste truth',
  help: HELP,
  async run(argv) {
    const values = parseFlags(argv, {
      ...Object.fromEntries(NUMERIC.map(([flag]) => [flag, { type: 'string' as const }])),
      out: { type: 'string' },
      gzip: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    });
    const v = values as Record<string, string | boolean | undefined>;
    for (const req of ['users', 'playlists', 'seed', 'out']) if (v[req] === undefined) throw new UsageError(`--${req} is required`);
    const opts: Record<string, number> = {};
    for (const [flag, key] of NUMERIC) {
      const raw = v[flag];
      if (typeof raw !== 'string') continue;
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} ${raw} is not a number`);
      opts[key] = n;
    }
    await makeDirs(v.out as string, 'choose a writable folder for --out');
    const started = Date.now();
    try {
      const summary = await generateWorld({
        ...(opts as unknown as WorldOptions),
        out: v.out as string,
        gzip: v.gzip === true,
        overwrite: v.force === true,
        ...(v.quiet === true ? {} : { onProgress: progressPrinter() }),
      });
      const c = summary.counts;
      const secs = (Date.now() - started) / 1000;
      process.stdout.write(
        `wrote ${v.out as string}: ${c.users.toLocaleString('en-US')} users, ${c.playlists.toLocaleString('en-US')} playlists in ${c.slices} slices, ` +
          `${c.entries.toLocaleString('en-US')} entries (${c.uniqueTracks.toLocaleString('en-US')} unique tracks), ${c.follows.toLocaleString('en-US')} follows, ` +
          `${c.triplets.toLocaleString('en-US')} triplets; ${(summary.bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof WorldOptionsError || err instanceof WorldExistsError) throw new UsageError(err.message);
      throw err;
    }
  },
};
