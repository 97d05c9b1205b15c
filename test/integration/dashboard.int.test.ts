import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../gateway/dashboard/assets.js';
import { createGateway, mintToken, type Gateway } from '../../gateway/index.js';
import { createLiveMetrics, type LiveMetrics } from '../../gateway/live-metrics.js';
import { createWarehouseSinkTopology, type SinkTopic } from '../../processors/index.js';
import { createStreamsApp, createTypedProducer, type StreamsApp, type TypedProducer } from '../../streams/index.js';
import { liveTraffic, LIVE_VERSIONS, type LiveTraffic } from '../helpers/live-fixture.js';
import { createTestBed, type TestBed } from '../helpers/services.js';
import { createTestWarehouse, dropTestWarehouses } from '../helpers/warehouse.js';

// The live dashboard in a real browser (Debian's chromium through playwright-core) against a real gateway whose
// metrics come from ClickHouse, fed by the warehouse sink from Kafka: the charts draw, the numbers change when more
// traffic flows, the filters work; with BUDDIES_UPDATE_SCREENSHOT=1 the page's screenshot goes to docs/dashboard.png.
const CHROMIUM = '/usr/bin/chromium';
const TOPICS: SinkTopic[] = ['playlists', 'recommendations', 'listens', 'feedback'];
const SECRET = 'dashboard-test-secret-0123456789abcdef';
const CHARTS = ['chart-listening', 'chart-events', 'chart-ctr', 'chart-follow', 'chart-new-users'];

let bed: TestBed;
let client: ClickHouseClient;
let database: string;
let sinks: StreamsApp[] = [];
let producer: TypedProducer;
let metrics: LiveMetrics;
let gateway: Gateway;
let context: BrowserContext;
let page: Page;
let bundleDir: string;
let profileDir: string;

async function send(t: LiveTraffic): Promise<void> {
  // lists before the reactions to them, as the recommender and the apps do
  await producer.send('playlists', t.playlists.map((v) => ({ key: v.playlistId, value: v })));
  await producer.send('recommendations', t.recommendations.map((v) => ({ key: v.userId, value: v })));
  await producer.send('listens', t.listens.map((v) => ({ key: v.userId, value: v })));
  await producer.send('feedback', t.feedback.map((v) => ({ key: v.userId, value: v })));
}

async function rowCount(table: string): Promise<number> {
  const rows = await (await client.query({ query: `SELECT count() AS n FROM ${database}.${table}`, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(rows[0]?.n ?? 0);
}

/** Waits until ClickHouse holds at least these rows (the sink has caught up), within a deadline. */
async function waitForRows(t: LiveTraffic, already = { listens: 0, feedback: 0, items: 0 }): Promise<void> {
  const want: Array<[string, number]> = [
    ['listen_events', already.listens + t.listens.length],
    ['feedback_events', already.feedback + t.feedback.length],
    ['recommendations', already.items + t.recommendations.reduce((n, r) => n + r.items.length, 0)],
  ];
  const deadline = Date.now() + 90_000;
  for (;;) {
    const have = await Promise.all(want.map(([table]) => rowCount(table)));
    if (have.every((n, i) => n >= want[i]![1])) return;
    if (Date.now() > deadline) throw new Error(`the warehouse sink did not catch up within 90 s: ${want.map(([table, n], i) => `${table} ${have[i]}/${n}`).join(', ')}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 250)); // poll interval of a condition with a deadline
  }
}

// What the functions that run in the page use of the browser's globals (this project compiles without the DOM library)
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly hidden: boolean;
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
interface PageCanvas { readonly width: number; readonly height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: ArrayLike<number> } } }
declare const document: { getElementById(id: string): PageElement | null; querySelector(selector: string): PageElement | null };
declare const location: { readonly hash: string };

const metric = (name: string) => page.locator(`#numbers [data-metric="${name}"]`).first().textContent();

describe('the live dashboard in a browser', () => {
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (apt-get install -y chromium)`).toBe(true);
    // the real build step, into a folder of this test's own
    bundleDir = mkdtempSync(join(tmpdir(), 'buddies-dashboard-'));
    const build = spawnSync('node', ['scripts/build-dashboard.mjs', '--out', bundleDir], { encoding: 'utf8', timeout: 120_000 });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);

    bed = await createTestBed([...TOPICS, 'deadLetters']);
    ({ client, opts: { database } } = await createTestWarehouse());
    sinks = TOPICS.map((t) => createStreamsApp({ kafka: bed.kafka, serde: bed.serde, topology: createWarehouseSinkTopology({ topic: t, client, applicationId: bed.unique(`dashboard-${t}`) }) }));
    await Promise.all(sinks.map((a) => a.start()));
    producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();

    // three quarters of an hour of traffic, through Kafka and the sink into ClickHouse
    const first = liveTraffic({ endMs: Date.now(), minutes: 45, seed: 3, userPrefix: 'dash-u' });
    await send(first);
    await waitForRows(first);

    metrics = createLiveMetrics({ client, database, intervalMs: 1_000 });
    gateway = await createGateway({
      kafka: bed.kafka, serde: bed.serde, schemasDir: bed.schemasDir, auth: { secret: SECRET }, port: 0, host: '127.0.0.1',
      metrics, assets: loadDashboardAssets({ dir: bundleDir }), groupPrefix: bed.unique('gateway'),
    });
    // the live metrics' own Prometheus series on the gateway's /metrics, as `buddies gateway` wires them
    metrics.registerOn(gateway.registry);

    profileDir = mkdtempSync(join(tmpdir(), 'buddies-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
      deviceScaleFactor: 1,
      timezoneId: 'UTC',
    });
    page = context.pages()[0] ?? await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await gateway?.close();
    await metrics?.close();
    await producer?.disconnect();
    await Promise.all(sinks.map((a) => a.stop()));
    await dropTestWarehouses();
    for (const dir of [bundleDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks for a token without one, and says why a bad one fails', async () => {
    await page.goto(`${gateway.url}/dashboard/`);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    await page.locator('#token').fill('not-a-jwt');
    await page.locator('#token-form button').click();
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'error' && !document.getElementById('token-form')?.hidden, undefined, { timeout: 15_000 });
    expect(await page.locator('#status').textContent()).toMatch(/bad_token/);
    const user = await mintToken({ secret: SECRET, userId: 'listener-1' }); // not an operator
    await page.locator('#token').fill(user);
    await page.locator('#token-form button').click();
    await page.waitForFunction(() => /forbidden_channel/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 15_000 });
  });

  it('draws the charts from the metrics channel, updates the numbers live, filters, and can be captured in docs/dashboard.png', async () => {
    const token = await mintToken({ secret: SECRET, userId: 'operator-1', role: 'operator' });
    await page.goto(`${gateway.url}/dashboard/#token=${token}`);
    // the page takes the token out of the address bar (same document: the fragment changed, no reload)
    await page.waitForFunction(() => !location.hash.includes('token'), undefined, { timeout: 15_000 });
    expect(page.url()).not.toContain(token);
    // every chart has a canvas and points; the click-through chart a line over most of the 45 minutes, per version
    await page.waitForFunction((ids) => ids.every((id) => {
      const el = document.getElementById(id);
      return el?.querySelector('canvas') && Number(el.dataset.points) > 0;
    }) && Number(document.getElementById('chart-ctr')?.dataset.points) >= 60, CHARTS, { timeout: 60_000 });
    expect(await page.locator('#status').getAttribute('data-state')).toBe('live');

    // the series are on the canvas: pixels of the listens line (green) in the events chart, of the first model's line
    // (blue) in click-through; antialiased line pixels count, the pale fill under a line does not
    const colored = await page.evaluate(() => {
      const count = (id: string, hue: 'green' | 'blue') => {
        const canvas = document.querySelector(`#${id} canvas`) as unknown as PageCanvas;
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          const [r, g, b] = [px[i]!, px[i + 1]!, px[i + 2]!];
          if (hue === 'green' ? g > r + 60 && g > b + 40 : b > r + 80 && b > g + 60) n++;
        }
        return n;
      };
      return { listens: count('chart-events', 'green'), ctr: count('chart-ctr', 'blue') };
    });
    expect(colored.listens).toBeGreaterThan(100);
    expect(colored.ctr).toBeGreaterThan(100);

    const before = { events: await metric('events'), newUsers: await metric('new-users'), at: await page.locator('#updated').getAttribute('data-at') };
    expect(Number(before.events?.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await metric('ctr')).toMatch(/^\d+\.\d%$/);
    expect(await page.locator('#models tr').count()).toBe(LIVE_VERSIONS.length);
    expect(await page.locator('#top tr').count()).toBeGreaterThan(3);

    // more traffic, this minute: the next snapshots carry it, and the page shows it without a reload
    const second = liveTraffic({ endMs: Date.now(), minutes: 1, seed: 9, userPrefix: 'dash-w2', intensity: 4 });
    await send(second);
    await page.waitForFunction((old) => {
      const text = (name: string) => document.querySelector(`#numbers [data-metric="${name}"]`)?.textContent;
      return text('events') !== old.events && text('new-users') !== old.newUsers;
    }, before, { timeout: 60_000 });
    expect(Number((await metric('events'))?.replace(/,/g, ''))).toBeGreaterThan(Number(before.events?.replace(/,/g, '')));
    expect(Number(await page.locator('#updated').getAttribute('data-at'))).toBeGreaterThan(Number(before.at));

    // the model-version filter: one version's rows and lines only
    await page.locator('#model').selectOption(LIVE_VERSIONS[1]);
    expect(await page.locator('#models tr').count()).toBe(1);
    expect(await page.locator('#chart-ctr').getAttribute('data-series')).toBe('1');
    await page.locator('#model').selectOption('');
    expect(await page.locator('#chart-ctr').getAttribute('data-series')).toBe(String(LIVE_VERSIONS.length));
    // the time range: the last 15 minutes hold fewer points than the hour
    const hourPoints = Number(await page.locator('#chart-events').getAttribute('data-points'));
    await page.locator('#range').selectOption('900');
    expect(Number(await page.locator('#chart-events').getAttribute('data-points'))).toBeLessThan(hourPoints);
    await page.locator('#range').selectOption('3600');

    const prom = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(prom).toMatch(/^buddies_live_metrics_refreshes_total\{outcome="ok"\} [1-9]/m);
    expect(prom).toMatch(/^buddies_live_metrics_query_seconds_count\{query="top-playlists"\} [1-9]/m);

    // the page as the test leaves it; docs/dashboard.png is refreshed only on request, so a test run leaves the tree clean
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
    if (process.env.BUDDIES_UPDATE_SCREENSHOT === '1') writeFileSync(join(bed.cfg.rootDir, 'docs', 'dashboard.png'), shot);
  });
});
