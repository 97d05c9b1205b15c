import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stackDown, stackUp } from '../../stack/index.js';
import { createCountingTopology, createStreamsApp, createTypedProducer, readTopicSchema, USER_COUNTS } from '../../streams/index.js';
import { groupCaughtUp, readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

const SINK_CHILD = fileURLToPath(new URL('../fixtures/sink-child.ts', import.meta.url));
const quiet = () => {};

/** Keeps a service down for `ms` while `during` runs (the outage is the scenario under test, not a wait for a result). */
async function outage(bed: TestBed, service: 'registry' | 'clickhouse', ms: number, during: () => Promise<void>): Promise<void> {
  if (service === 'registry' ? bed.cfg.registry.external : bed.cfg.clickhouse.external) throw new Error(`this test stops the local ${service}: unset its URL`);
  await stackDown(bed.cfg, quiet, [service]);
  try {
    const until = Date.now() + ms;
    await during();
    await waitFor(() => Date.now() >= until, `${ms} ms of ${service} outage`, ms + 60_000, 250);
  } finally {
    await stackUp(bed.cfg, quiet, [service]);
  }
}

const listen = (i: number) => ({ key: `u${i % 20}`, value: { ...SAMPLES.listens.value, eventId: `e${i}`, userId: `u${i % 20}` } });

describe('outages (issue 8)', () => {
  it('the registry stopped for 30 s mid-stream: nothing is dead-lettered, everything is processed once it returns', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'interactionWindows', 'deadLetters']);
    // a second version of the listen schema: records written with it need a registry lookup the app has not made yet
    const v1 = readTopicSchema(bed.schemasDir, 'listens') as { fields: unknown[] };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'device', type: ['null', 'string'], default: null }] };
    const { id: v2Id } = await bed.registry.register({ type: 'AVRO', schema: JSON.stringify(v2) } as never, { subject: bed.topics.subject('listens') });
    const v2Records = await Promise.all(Array.from({ length: 50 }, async (_, i) => ({
      key: `u${i % 20}`, value: await bed.registry.encode(v2Id, { ...listen(100 + i).value, device: 'phone' }),
    })));
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('listens', Array.from({ length: 100 }, (_, i) => listen(i)));
    const appId = bed.unique('count-registry');
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createCountingTopology({ applicationId: appId }) });
    await app.start();
    const raw = bed.kafka.producer();
    await raw.connect();
    try {
      await waitFor(() => groupCaughtUp(bed.kafka, appId, bed.topics.name('listens')), 'the first 100 listens', 60_000, 250);
      await outage(bed, 'registry', 30_000, async () => {
        await raw.send({ topic: bed.topics.name('listens'), messages: v2Records });
        await waitFor(() => app.stats.retries > 0, 'the app to retry decoding while the registry is down', 60_000, 100);
      });
      await waitFor(() => groupCaughtUp(bed.kafka, appId, bed.topics.name('listens')), 'every listen once the registry is back', 120_000, 250);
    } finally {
      await app.stop();
      await raw.disconnect();
      await producer.disconnect();
    }
    expect(await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'))).toHaveLength(0);
    const changelog = await readTopicToEnd(bed.kafka, `${bed.topics.prefix}${appId}-${USER_COUNTS.name}-changelog`);
    const counts = new Map(changelog.map((m) => [m.key!.toString(), JSON.parse(m.value!.toString()) as { listens: number }]));
    expect([...counts.values()].reduce((n, c) => n + c.listens, 0)).toBe(150);
  });

  it('ClickHouse stopped for 60 s under the sink: memory stays bounded, and afterwards the warehouse holds every event once', async () => {
    const bed = await createTestBed(['listens', 'deadLetters']);
    const { opts, client } = await createTestWarehouse();
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('listens', Array.from({ length: 2000 }, (_, i) => listen(i)));
    const appId = bed.unique('sink-outage');
    const child = spawn(process.execPath, ['--import', 'tsx', SINK_CHILD, bed.topics.prefix, appId, opts.database], { stdio: ['ignore', 'pipe', 'inherit'] });
    const rss: number[] = [];
    const lines: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const l of chunk.split('\n').filter(Boolean)) {
        lines.push(l);
        if (l.startsWith('RSS ')) rss.push(Number(l.slice(4)));
      }
    });
    try {
      await waitFor(() => groupCaughtUp(bed.kafka, appId, bed.topics.name('listens')), 'the first 2000 listens in ClickHouse', 120_000, 250);
      await waitFor(() => rss.length >= 4, 'memory samples before the outage', 30_000, 100);
      const before = Math.max(...rss);
      let during: number[] = [];
      await outage(bed, 'clickhouse', 60_000, async () => {
        const from = rss.length;
        // 40,000 more listens arrive while the warehouse is down
        for (let chunk = 0; chunk < 8; chunk++) await producer.send('listens', Array.from({ length: 5000 }, (_, i) => listen(2000 + chunk * 5000 + i)));
        await waitFor(() => rss.length >= from + 20, 'memory samples during the outage', 60_000, 100);
        during = rss.slice(from);
      });
      process.stderr.write(`sink resident memory: ${(before / 2 ** 20).toFixed(0)} MiB before the outage, at most ${(Math.max(...during) / 2 ** 20).toFixed(0)} MiB during it\n`);
      // holding one batch per task, not a growing backlog: resident memory grows by far less than 40,000 events' rows
      expect(Math.max(...during) - before).toBeLessThan(150 * 1024 * 1024);
      await waitFor(() => groupCaughtUp(bed.kafka, appId, bed.topics.name('listens')), 'every listen once ClickHouse is back', 180_000, 500);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await producer.disconnect();
    }
    const n = (await (await client.query({ query: 'SELECT count() AS n, uniqExact(event_id) AS u FROM listen_events FINAL', format: 'JSONEachRow' })).json<{ n: string; u: string }>())[0]!;
    expect({ n: Number(n.n), u: Number(n.u) }).toEqual({ n: 42_000, u: 42_000 });
    expect(await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'))).toHaveLength(0);
    await dropTestWarehouses();
  });
});
