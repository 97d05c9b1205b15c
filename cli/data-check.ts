import { existsSync } from 'node:fs';
import { datasetStats, findDatasets, type DatasetKind, type DatasetStats } from '../data/index.js';
import { UsageError, type Command } from './command.js';
import { choiceFlag, intFlag, parseFlagsAndArgs } from './flags.js';
import { createProgressLine } from './progress.js';

const KINDS: readonly DatasetKind[] = ['mpd', 'lastfm', 'triplets'];

const HELP = `usage: buddies data check [options] PATH...

Loads offline datasets with the same loaders the importer uses and prints their counts, plus the
records it had to reject (with file, line and reason). Folders are walked recursively and datasets
recognised by name:
  mpd.slice.*.json[.gz]        Million Playlist Dataset slices (full or reduced track schema)
  user_artists.dat             Last.fm hetrec2011 (userID artistID weight, with header)
  *triplets*.tsv|txt[.gz]      Taste Profile triplets (user song play_count, no header)
Other files are listed as skipped.

options:
  --format mpd|lastfm|triplets  read every file given (or found) in this format
  --show N                      rejected records listed per dataset (default 5)
  --json                        one JSON object per dataset on stdout instead of the table
  --strict                      exit 1 when any record was rejected

'data stats' is the same command. Exit: 0 ok, 1 nothing loadable (or rejections with --strict), 2 usage.
`;

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function describe(s: DatasetStats, label: string, show: number): string {
  const lines = [`${label}  [${s.kind}]`];
  const r = s.report;
  if (s.kind === 'mpd') {
    lines.push(
      `  files ${fmt(r.files)}  playlists ${fmt(s.playlists)}  tracks ${fmt(s.tracks)}  unique tracks ${fmt(s.uniqueTracks)}  unique artists ${fmt(s.uniqueArtists)} (by uri, else name)`,
      `  full-schema playlists ${fmt(s.fullSchemaPlaylists)}  followers ${fmt(s.followers)}`,
    );
  } else {
    lines.push(`  rows ${fmt(s.rows)}  users ${fmt(s.users)}  items ${fmt(s.items)}  total weight ${fmt(s.totalWeight)}`);
  }
  lines.push(`  rejected ${fmt(r.rejectedCount)}`);
  for (const x of r.rejected.slice(0, show)) lines.push(`    ${x.file}:${x.line}: ${x.reason}`);
  if (r.rejectedCount > show) lines.push(`    … ${fmt(r.rejectedCount - Math.min(show, r.rejected.length))} more`);
  return lines.join('\n');
}

export const dataCommand: Command = {
  summary: 'check offline datasets (MPD, Last.fm, Taste Profile): counts and rejected records',
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'check' && sub !== 'stats') throw new UsageError(`expected 'check' or 'stats', got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
    const { values, positionals } = parseFlagsAndArgs(rest, {
      format: { type: 'string' }, show: { type: 'string' }, json: { type: 'boolean', default: false }, strict: { type: 'boolean', default: false },
    });
    if (positionals.length === 0) throw new UsageError('give at least one PATH');
    const format = values.format === undefined ? undefined : choiceFlag('format', values.format, KINDS);
    const show = intFlag('show', values.show, 5, 0);
    for (const p of positionals) if (!existsSync(p)) throw new UsageError(`no such file or folder: ${p}`);

    const found = await findDatasets(positionals, format);
    for (const s of found.skipped) process.stderr.write(`skipped (not a known dataset name; see --format): ${s}\n`);
    if (found.datasets.length === 0) {
      process.stderr.write('nothing to load\n');
      return 1;
    }
    let rejected = 0;
    for (const ds of found.datasets) {
      const progress = createProgressLine(ds.label, { unit: 'files' });
      const stats = await datasetStats(ds, (_d, done, total, records) => progress.update(done, total, records));
      progress.end();
      rejected += stats.report.rejectedCount;
      if (values.json) {
        const { report, ...counts } = stats;
        process.stdout.write(`${JSON.stringify({ path: ds.label, ...counts, files: report.files, rejectedCount: report.rejectedCount, rejected: report.rejected.slice(0, show) })}\n`);
      } else process.stdout.write(`${describe(stats, ds.label, show)}\n`);
    }
    return values.strict && rejected > 0 ? 1 : 0;
  },
};
