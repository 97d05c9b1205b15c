/**
 * Import benchmark (issue 3): generate a world, import it into the local stack (Kafka + ClickHouse),
 * drain it into the warehouse, then import it again and check that no warehouse count changes.
 *
 *   npm run stack:up && node --import tsx bench/import.ts --playlists 100000 --users 20000 [--dir /tmp/world-100k]
 *
 * Writes bench/results/import.md (and prints the same). Uses its own topic prefix and database.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createClient } from '@clickhouse/client';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateWorld } from '../data/generate.js';
import { importDataset, type ImportSummary } from '../ingest/index.js';
import { createWarehouseSinkTopology, type SinkTopic } from '../processors/index.js';
import { connectStreams, createStreamsApp, createTypedProducer, ensureTopics, groupLag } from '../streams/index.js';
import { testConfig } from '../test/helpers/config.js';
import { createWarehouseClient, migrateWarehouse, warehouseOptions } from '../warehouse/index.js';

const { values } = parseArgs({ options: {
  playlists: { type: 'string', default: '100000' }, users: { type: 'string', default: '20000' }, seed: { type: 'string', default: '1' },
  dir: { type: 'string' }, out: { type: 'string', default: 'bench/results/import.md' }, help: { type: 'boolean', default: false },
} });
if (values.help) {
  process.stdout.write('usage: node --import tsx bench/import.ts [--playlists N] [--users N] [--seed S] [--dir WORLD] [--out FILE]\n');
  process.exit(0);
}
const playlists = Number(values.playlists);
const users = Number(values.users);
const dir = values.dir ?? `/tmp/buddies-world-${playlists}-${users}-${values.seed}`;
const cfg = testConfig();
const log = (s: string) => process.stderr.write(`${s}\n`);

if (!existsSync(join(dir, 'world.json'))) {
  log(`generating ${playlists} playlists, ${users} users into ${dir}`);
  await generateWorld({ users, playlists, seed: Number(values.seed), out: dir });
}
const run = `bench${Date.now().toString(36)}`;
const { kafka, serde, topics } = await connectStreams(cfg, { role: run, prefix: `${run}.`, keys: ['playlists', 'listens', 'feedback'] });
const keys = ['playlists', 'listens', 'feedback', 'deadLetters'] as const;
await ensureTopics(kafka, topics, keys);
const database = `${run}`;
await migrateWarehouse(warehouseOptions(cfg, database));
const client = createWarehouseClient(warehouseOptions(cfg, database));
const producer = createTypedProducer({ kafka, serde });
await producer.connect();
const stateFile = `/tmp/${run}-state.json`;

const importOnce = async (restart: boolean): Promise<ImportSummary> => {
  const s = await importDataset({ kind: 'mpd', path: dir, producer, warehouse: client, stateFile, restart,
    onProgress: (p) => log(`import: ${p.unitsDone}/${p.unitsTotal} slices, ${p.events} events, ${Math.round(p.events / p.seconds)}/s`) });
  log(`import: ${s.events} events in ${s.seconds.toFixed(1)} s = ${Math.round(s.eventsPerSecond)} events/s`);
  return s;
};
const sinkTopics: SinkTopic[] = ['playlists', 'listens', 'feedback'];
const drain = async (label: string, expected: number) => {
  const t0 = Date.now();
  const apps = sinkTopics.map((t) => createStreamsApp({ kafka, serde, topology: createWarehouseSinkTopology({ topic: t, client, applicationId: `${run}.${label}.${t}` }) }));
  await Promise.all(apps.map((a) => a.start()));
  for (;;) {
    let lag = 0n;
    for (const t of sinkTopics) lag += await groupLag(kafka, `${run}.${label}.${t}`, topics.name(t));
    if (lag === 0n) break;
    await new Promise((r) => setTimeout(r, 500)); // polling progress, not synchronising a test
  }
  await Promise.all(apps.map((a) => a.stop()));
  const secs = (Date.now() - t0) / 1000;
  log(`sink ${label}: ${expected} events into ClickHouse in ${secs.toFixed(1)} s`);
  return secs;
};
const counts = async () => {
  const q = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
  return {
    listen_events: await q('SELECT count() AS n FROM listen_events FINAL'),
    feedback_events: await q('SELECT count() AS n FROM feedback_events FINAL'),
    playlists: await q('SELECT count() AS n FROM playlists FINAL'),
    playlist_tracks: await q('SELECT count() AS n FROM playlist_tracks'), // a view of the playlists' latest tracks
    tracks: await q('SELECT count() AS n FROM tracks FINAL'),
  };
};

const first = await importOnce(false);
const sink1 = await drain('first', first.events);
const c1 = await counts();
const second = await importOnce(true);
const sink2 = await drain('second', first.events + second.events);
const c2 = await counts();
await producer.disconnect();
log(`counts after the first import: ${JSON.stringify(c1)}; after the second: ${JSON.stringify(c2)}`);
const same = JSON.stringify(c1) === JSON.stringify(c2);
const clickhouseVersion = (await (await fetch(`${cfg.clickhouse.url}/?query=SELECT%20version()`)).text()).trim();
await client.close();

const rows = Object.keys(c1).map((k) => `| ${k} | ${c1[k as keyof typeof c1]} | ${c2[k as keyof typeof c2]} |`).join('\n');
const md = `# Import benchmark

Command: \`node --import tsx bench/import.ts --playlists ${playlists} --users ${users} --seed ${values.seed}\`
(local stack: Kafka 3.9.1 KRaft, Apicurio 2.6, ClickHouse ${clickhouseVersion}; 2 cores, 24 GiB).
Run: ${new Date().toISOString()}.

| step | events | seconds | events/s |
| --- | ---: | ---: | ---: |
| import (first run) | ${first.events} | ${first.seconds.toFixed(1)} | ${Math.round(first.eventsPerSecond)} |
| warehouse sink drain | ${first.events} | ${sink1.toFixed(1)} | ${Math.round(first.events / sink1)} |
| import again (--restart: everything re-sent) | ${second.events} | ${second.seconds.toFixed(1)} | ${Math.round(second.eventsPerSecond)} |
| warehouse sink drain (both copies) | ${first.events + second.events} | ${sink2.toFixed(1)} | ${Math.round((first.events + second.events) / sink2)} |

Imported: ${first.counts.playlists} playlists, ${first.counts.listens} listens, ${first.counts.follows} follows, ${first.counts.tracks} catalogue rows.

ClickHouse counts (FINAL) after the first and after the second import:

| table | after first | after second |
| --- | ---: | ---: |
${rows}

Counts unchanged by the second import: **${same ? 'yes' : 'NO'}**.
`;
writeFileSync(values.out, md);
process.stdout.write(md);
// clean up after the results are safe: dropping a database of millions of rows can outlast a request timeout
const admin = createClient({ ...warehouseOptions(cfg, 'default'), request_timeout: 600_000 });
await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch((err: unknown) => log(`could not drop ${database}: ${String(err)}`));
await admin.close();
const kadmin = kafka.admin();
await kadmin.connect();
await kadmin.deleteTopics({ topics: keys.map((k) => topics.name(k)) }).catch((err: unknown) => log(`could not delete topics: ${String(err)}`));
await kadmin.disconnect();
process.exit(same ? 0 : 1);
