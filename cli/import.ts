import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { defaultStateFile, importDataset, type ImportKind } from '../ingest/index.js';
import { connectStreams, createTypedProducer, requireTopics } from '../streams/index.js';
import { createWarehouseClient, requireWarehouseSchema, warehouseOptions } from '../warehouse/index.js';
import { UsageError, type Command } from './command.js';
import { intFlag, parseFlagsAndArgs } from './flags.js';
import { createProgressLine, formatCount, formatSeconds } from './progress.js';

const HELP = `usage: buddies import <mpd|triplets|lastfm> PATH [options]

Loads offline data into the live system (needs 'buddies topics ensure' and 'buddies warehouse migrate' first): playlists as playlist events, plays as listen events (with
event times), follows as feedback events, into Kafka; the track catalogue into ClickHouse (table tracks).
Resumable: a checkpoint after each MPD slice or chunk of rows, so an interrupted import goes on where it
stopped and a finished one is a no-op. Idempotent: event ids and times derive from the data, so even
--restart leaves the warehouse counts unchanged (its tables fold repeated events).

  mpd PATH        a folder of mpd.slice.*.json[.gz] (either track schema) or one slice; a generated
                  world's owners.tsv and follows.tsv are used when present (else playlist P is user mpd-user-P's);
                  a pid met again in a later playlist (slices in name order) is imported as P~2, P~3…, the
                  ids 'buddies eval mpd' gives them too
  triplets PATH   Taste Profile triplets (user<TAB>song<TAB>plays)
  lastfm PATH     Last.fm hetrec2011 user_artists.dat, or the dataset's folder (artists become items lastfm:artist:ID)

options:
  --max-plays N   plays generated per triplet/Last.fm row, at most (default 20)
  --state FILE    checkpoint file (default: .stack/import/<topic prefix>/<kind>-<path>.json)
  --restart       ignore the checkpoint and import everything again
  --no-catalogue  do not write the track catalogue to ClickHouse
  --chunk N       records per Kafka send (default 5000)
`;

const KINDS: readonly ImportKind[] = ['mpd', 'triplets', 'lastfm'];

export const importCommand: Command = {
  summary: 'load MPD slices, Taste Profile triplets or Last.fm plays into Kafka and ClickHouse (resumable)',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      'max-plays': { type: 'string' },
      state: { type: 'string' },
      restart: { type: 'boolean', default: false },
      'no-catalogue': { type: 'boolean', default: false },
      chunk: { type: 'string' },
    });
    const [kind, path, ...extra] = positionals;
    if (!kind || !KINDS.includes(kind as ImportKind)) throw new UsageError(`expected a kind: ${KINDS.join(', ')}`);
    if (!path) throw new UsageError('missing PATH');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (!existsSync(path)) throw new UsageError(`no such file or folder: ${path}`);
    const maxPlays = intFlag('max-plays', values['max-plays'], 20);
    const chunk = intFlag('chunk', values.chunk, 5000);

    const cfg = ctx.config;
    const { kafka, serde, topics } = await connectStreams(cfg, { role: 'import', keys: ['playlists', 'listens', 'feedback'] });
    // a producer on a missing topic retries for ever; a catalogue insert into a missing table fails late
    await requireTopics(kafka, topics, ['playlists', 'listens', 'feedback']);
    if (!values['no-catalogue']) await requireWarehouseSchema(warehouseOptions(cfg));
    const producer = createTypedProducer({ kafka, serde });
    const warehouse = values['no-catalogue'] ? undefined : createWarehouseClient(warehouseOptions(cfg));
    const progress = createProgressLine(`import ${kind}`, { countUnit: 'events' });
    await producer.connect();
    try {
      const s = await importDataset({
        kind: kind as ImportKind, path, producer, warehouse, chunk, maxPlaysPerRow: maxPlays, restart: values.restart,
        // checkpoints are per destination: the same files imported under another topic prefix start afresh
        stateFile: values.state ?? defaultStateFile(join(cfg.stackDir, 'import', cfg.topicPrefix.replace(/[^A-Za-z0-9._-]+/g, '_') || 'default'), kind as ImportKind, path),
        onProgress: (p) => progress.update(p.unitsDone, p.unitsTotal, p.events, p.unit === 'slices' ? `${p.unitsDone} slices` : undefined),
      });
      progress.end(`${formatCount(s.events)} events in ${formatSeconds(s.seconds)} (${formatCount(Math.round(s.eventsPerSecond))} events/s): `
        + `${s.counts.playlists} playlists, ${s.counts.listens} listens, ${s.counts.follows} follows, ${s.counts.tracks} catalogue tracks`
        + `${s.counts.rows ? `, ${s.counts.rows} rows` : ''}; ${s.skipped} ${kind === 'mpd' ? 'slices' : 'rows'} already imported; `
        + `${s.renamed ? `${s.renamed} repeated pids renamed PID~2; ` : ''}`
        + `${s.report.rejectedCount} rejected${s.report.rejected[0] ? ` (first: ${s.report.rejected[0].file}:${s.report.rejected[0].line} ${s.report.rejected[0].reason})` : ''}`);
      process.stdout.write(`${JSON.stringify({ kind, path, ...s.counts, events: s.events, seconds: s.seconds, eventsPerSecond: Math.round(s.eventsPerSecond), skipped: s.skipped, renamed: s.renamed, rejected: s.report.rejectedCount })}\n`);
      return 0;
    } finally {
      await producer.disconnect();
      await warehouse?.close();
    }
  },
};
