import { afterAll, describe, expect, it } from 'vitest';
import { createWarehouseSinkTopology, type SinkTopic } from '../../processors/index.js';
import { createIdempotentProducer, createStreamsApp, createTypedProducer, DLQ_HEADERS, headerText, type StreamsApp } from '../../streams/index.js';
import { groupCaughtUp, readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

describe('warehouse sink processor', () => {
  afterAll(dropTestWarehouses);

  it('lands listens and playlists in ClickHouse, and a full replay changes no counts', async () => {
    const bed = await createTestBed(['listens', 'playlists', 'deadLetters']);
    const { client } = await createTestWarehouse();

    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('listens', Array.from({ length: 50 }, (_, i) => ({ key: `u${i % 7}`, value: { ...SAMPLES.listens.value, eventId: `e${i}`, userId: `u${i % 7}` } })));
    await producer.send('playlists', [
      { key: 'p1', value: { ...SAMPLES.playlists.value, playlistId: 'p1', tracks: ['t1', 't2', 't3'], eventTime: 1000 } },
      { key: 'p1', value: { ...SAMPLES.playlists.value, playlistId: 'p1', kind: 'UPDATE', tracks: ['t1', 't2', 't3', 't4'], followers: 40, eventTime: 2000 } },
      // p2 shrinks, p3 is deleted: their old tracks must not stay behind
      { key: 'p2', value: { ...SAMPLES.playlists.value, playlistId: 'p2', tracks: ['t1', 't2', 't3'], eventTime: 1000 } },
      { key: 'p2', value: { ...SAMPLES.playlists.value, playlistId: 'p2', kind: 'UPDATE', tracks: ['t3'], eventTime: 2000 } },
      { key: 'p3', value: { ...SAMPLES.playlists.value, playlistId: 'p3', tracks: ['t1', 't2'], eventTime: 1000 } },
      { key: 'p3', value: { ...SAMPLES.playlists.value, playlistId: 'p3', kind: 'DELETE', tracks: [], eventTime: 3000 } },
    ]);
    // e0 once more (a duplicate), and all again in the replay below: stored once, counted once in the hourly view
    await producer.send('listens', [{ key: 'u0', value: { ...SAMPLES.listens.value, eventId: 'e0', userId: 'u0' } }]);
    await producer.disconnect();

    const count = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
    // run the sink twice over everything, with two groups: the second run is a full replay
    for (const round of [1, 2]) {
      const topics: SinkTopic[] = ['listens', 'playlists'];
      const ids = topics.map((t) => bed.unique(`sink-${t}-${round}`));
      const apps: StreamsApp[] = topics.map((t, i) => createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: t, client, applicationId: ids[i]! }) }));
      await Promise.all(apps.map((a) => a.start()));
      await waitFor(async () => (await Promise.all(topics.map((t, i) => groupCaughtUp(bed.kafka, ids[i]!, bed.topics.name(t))))).every(Boolean), `round ${round} to commit every record`, 60_000, 250);
      await Promise.all(apps.map((a) => a.stop()));
      expect(await count('SELECT count() AS n FROM listen_events FINAL')).toBe(50);
      expect(await count('SELECT uniqExact(user_id) AS n FROM listen_events FINAL')).toBe(7);
      expect(await count('SELECT count() AS n FROM listen_events')).toBe(50); // not even before merges: the sink wrote each once
      expect(await count('SELECT sum(listens) AS n FROM listen_hourly')).toBe(50);
      expect(await count('SELECT count() AS n FROM playlists FINAL')).toBe(3);
      expect(await count("SELECT max(followers) AS n FROM playlists FINAL WHERE playlist_id = 'p1'")).toBe(40);
      expect(await count("SELECT count() AS n FROM playlist_tracks WHERE playlist_id = 'p1'")).toBe(4);
      const tracks = await (await client.query({ query: 'SELECT playlist_id, pos, track_id FROM playlist_tracks ORDER BY playlist_id, pos', format: 'JSONEachRow' })).json();
      expect(tracks).toEqual(['t1', 't2', 't3', 't4'].map((t, pos) => ({ playlist_id: 'p1', pos, track_id: t })).concat([{ playlist_id: 'p2', pos: 0, track_id: 't3' }]));
    }
  });

  // Issue 13: a reaction carries its list's model version and explanation into feedback_events, listen_events and
  // reaction_hourly; a recent one waits for its list to reach the warehouse, for a bounded time
  it('attributes reactions to their lists, waiting for a list still on its way, and writes them unattributed when it never comes', async () => {
    const bed = await createTestBed(['feedback', 'recommendations', 'deadLetters']);
    const { client } = await createTestWarehouse();
    const now = Date.now();
    const list = { ...SAMPLES.recommendations.value, recommendationId: 'r-late', userId: 'u5', generatedAt: now - 2_000, modelVersion: 'buddies@late' };
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('feedback', [
      { key: 'u5', value: { ...SAMPLES.feedback.value, eventId: 'f-late', userId: 'u5', kind: 'CLICK', recommendationId: 'r-late', eventTime: now } },
      { key: 'u5', value: { ...SAMPLES.feedback.value, eventId: 'f-none', userId: 'u5', kind: 'CLICK', playlistId: null, recommendationId: null, eventTime: now } },
    ]);
    const lines: string[] = [];
    const feedbackId = bed.unique('sink-feedback');
    const feedbackSink = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, log: (l) => lines.push(l), topology: createWarehouseSinkTopology({ topic: 'feedback', client, applicationId: feedbackId, attributionWaitMs: 120_000 }) });
    await feedbackSink.start();
    const recsId = bed.unique('sink-recs');
    const recsSink = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: 'recommendations', client, applicationId: recsId }) });
    try {
      await waitFor(() => lines.some((l) => /flush retry .*react to recommendation lists not in the warehouse yet/.test(l)), 'the feedback sink to wait for the list', 30_000, 100);
      await producer.send('recommendations', [{ key: 'u5', value: list }]);
      await recsSink.start();
      await waitFor(() => groupCaughtUp(bed.kafka, feedbackId, bed.topics.name('feedback')), 'the feedback sink to write once the list is in', 60_000, 250);
    } finally {
      await Promise.all([feedbackSink.stop(), recsSink.stop()]);
    }
    const q = async (sql: string) => (await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, string>>());
    expect(await q('SELECT event_id, model_version, explanation FROM feedback_events FINAL ORDER BY event_id')).toEqual([
      { event_id: 'f-late', model_version: 'buddies@late', explanation: 'made by your buddy' },
      { event_id: 'f-none', model_version: '', explanation: '' },
    ]);
    expect(await q('SELECT model_version, explanation, sum(clicks) AS clicks FROM reaction_hourly GROUP BY model_version, explanation'))
      .toEqual([{ model_version: 'buddies@late', explanation: 'made by your buddy', clicks: '1' }]);

    // a list that never comes: after the wait the reaction goes in unattributed, counted, and reaction_hourly is unchanged
    await producer.send('feedback', [{ key: 'u5', value: { ...SAMPLES.feedback.value, eventId: 'f-lost', userId: 'u5', kind: 'CLICK', recommendationId: 'r-never', eventTime: Date.now() } }]);
    await producer.disconnect();
    let unattributed = 0;
    const lostId = bed.unique('sink-feedback-lost');
    const lostSink = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: 'feedback', client, applicationId: lostId, attributionWaitMs: 1_500, onUnattributed: (n) => { unattributed += n; } }) });
    await lostSink.start();
    try {
      await waitFor(() => groupCaughtUp(bed.kafka, lostId, bed.topics.name('feedback')), 'the feedback sink to give up waiting', 60_000, 250);
    } finally {
      await lostSink.stop();
    }
    expect(unattributed).toBe(1);
    expect(await q("SELECT model_version FROM feedback_events FINAL WHERE event_id = 'f-lost'")).toEqual([{ model_version: '' }]);
    expect(await q('SELECT count() AS n FROM feedback_events')).toEqual([{ n: '3' }]); // the replay wrote none twice
    expect(await q('SELECT sum(clicks) AS n FROM reaction_hourly')).toEqual([{ n: '1' }]);
  });

  // Issue 8 leftover: on a transactional input (the recommender writes lists in transactions) the last record of a
  // partition is a commit marker that never reaches the processor; the sink still commits past it (lag 0, not 1)
  it('commits past the commit marker of a transactional input, so its lag reaches 0', async () => {
    const bed = await createTestBed(['recommendations', 'deadLetters']);
    const { client } = await createTestWarehouse();
    const producer = createIdempotentProducer(bed.kafka, bed.unique('txn'));
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic: bed.topics.name('recommendations'), messages: [{ key: 'u1', value: await bed.serde.encode('recommendations', SAMPLES.recommendations.value) }] });
    await txn.commit();
    await producer.disconnect();
    const id = bed.unique('sink-txn');
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: 'recommendations', client, applicationId: id }) });
    await app.start();
    try {
      await waitFor(() => groupCaughtUp(bed.kafka, id, bed.topics.name('recommendations')), 'the sink to commit past the commit marker', 30_000, 250);
    } finally {
      await app.stop();
    }
    const [row] = await (await client.query({ query: 'SELECT count() AS n FROM recommendations FINAL', format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(row?.n)).toBe(SAMPLES.recommendations.value.items.length);
  });

  // Issue 8: a row that ClickHouse rejects is dead-lettered with the server's message, and the partition goes on
  it('dead-letters a row ClickHouse rejects, with the server message, and writes the rows around it', async () => {
    const bed = await createTestBed(['listens', 'deadLetters']);
    const { client } = await createTestWarehouse();
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const listen = (i: number, msPlayed = 1000) => ({ key: 'u1', value: { ...SAMPLES.listens.value, eventId: `e${i}`, userId: 'u1', msPlayed } });
    // all on one key, so one partition and one batch: the bad row sits between good ones
    await producer.send('listens', [listen(1), listen(2), listen(3, -5), listen(4)]); // ms_played is UInt32
    await producer.send('listens', [listen(5)]);
    await producer.disconnect();
    const id = bed.unique('sink-reject');
    const app = createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: 'listens', client, applicationId: id }) });
    await app.start();
    try {
      await waitFor(() => groupCaughtUp(bed.kafka, id, bed.topics.name('listens')), 'the sink to commit every listen', 60_000, 250);
    } finally {
      await app.stop();
    }
    const ids = (await (await client.query({ query: 'SELECT event_id FROM listen_events FINAL ORDER BY event_id', format: 'JSONEachRow' })).json<{ event_id: string }>()).map((r) => r.event_id);
    expect(ids).toEqual(['e1', 'e2', 'e4', 'e5']);
    const dead = await readTopicToEnd(bed.kafka, bed.topics.name('deadLetters'));
    expect(dead).toHaveLength(1);
    expect((await bed.serde.decode('listens', dead[0]!.value as Buffer)).eventId).toBe('e3');
    expect(headerText(dead[0]!.headers, DLQ_HEADERS.code)).toBe('WAREHOUSE_REJECTED');
    expect(headerText(dead[0]!.headers, DLQ_HEADERS.reason)).toMatch(/^ClickHouse rejected a row of listen_events: Code: 72, .*Unsigned type must not contain '-' symbol/);
  });
});
