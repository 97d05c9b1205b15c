import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { createRanker } from '../models/ranking/index.js';
import { createRecommender, type Recommender } from '../models/recommend/index.js';
import { DEFAULT_MIN_SIGNAL } from '../models/taste/index.js';
import { createLiveWorld, LIVE_BUDDIES } from '../processors/index.js';
import {
  createGlobalTable, createTypedProducer, globalTableSpec, type AvroSerde, type GlobalTable, type OutRecord, type TopicValues,
} from '../streams/index.js';
import { createBatchSizer, type BatchSizerOptions } from './batching.js';
import type { CronSchedule } from './cron.js';
import { activeUsers, batchRankingUser, dailyList } from './top-picks-lists.js';
import type { TopPicksMetrics } from './top-picks-metrics.js';

/** Defaults of {@link runTopPicks}. */
export const DEFAULT_TOP_PICKS_OPTIONS = {
  /** Playlists per daily list (the live recommender's k). */
  k: 10,
  /** Users count as active when their taste or pairing moved within this (30 days). */
  activeMs: 30 * 24 * 3_600_000,
  /** Wall time one batch (ranking and publishing) should take. */
  targetBatchMs: 500,
} as const;

export interface TopPicksOptions {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  /** Prefix of the throwaway consumer groups that read the tables (a fresh group per table and run). */
  readonly groupPrefix: string;
  readonly k?: number;
  readonly activeMs?: number;
  /** Buddies per user (default the live recommender's, 50). */
  readonly buddies?: number;
  /** Positive events a taste needs to be personalised (default the live recommender's). */
  readonly minSignal?: number;
  /** The dynamic batching controller (its `targetMs` defaults to {@link DEFAULT_TOP_PICKS_OPTIONS}.targetBatchMs). */
  readonly batching?: BatchSizerOptions;
  /** Rejects when a table is not caught up in this time (default 120 s). */
  readonly tableTimeoutMs?: number;
  readonly metrics?: TopPicksMetrics;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

/** What a run did. */
export interface TopPicksResult {
  readonly users: number;
  readonly lists: number;
  readonly coldStart: number;
  readonly canary: number;
  readonly batches: number;
  /** Batch sizes in order (the controller's choices). */
  readonly batchSizes: readonly number[];
  readonly seconds: number;
  /** The model version of production's lists (`buddies@emb:<embeddings>+bpr:<bpr>`). */
  readonly modelVersion: string;
}

/**
 * One "Top Picks for Today" run: reads what the live system publishes on Kafka (the playlist table, every user's
 * taste, their pairings, the announced models, loaded from the model registry) into the same world the live
 * recommender keeps (processors/live-world.ts), then recomputes the list of every active user with the live
 * recommender's ranking path (models/recommend's `createRecommender`, production's BPR or the canary's for users
 * in its share) in dynamically sized batches, and publishes each list on the recommendation topic, keyed by user,
 * marked `dailyPick: true`. Stateless: a run that dies is simply run again (a later list replaces an earlier one).
 */
export async function runTopPicks(o: TopPicksOptions): Promise<TopPicksResult> {
  const log = o.log ?? (() => {});
  const now = o.now ?? Date.now;
  const k = o.k ?? DEFAULT_TOP_PICKS_OPTIONS.k;
  const activeMs = o.activeMs ?? DEFAULT_TOP_PICKS_OPTIONS.activeMs;
  const nBuddies = o.buddies ?? LIVE_BUDDIES;
  const minSignal = o.minSignal ?? DEFAULT_MIN_SIGNAL;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (!(activeMs > 0)) throw new RangeError(`activeMs must be positive, got ${activeMs}`);
  const sizer = createBatchSizer({ targetMs: DEFAULT_TOP_PICKS_OPTIONS.targetBatchMs, ...o.batching });
  const started = performance.now();

  const world = createLiveWorld({ minSignal, log });
  const [playlistsSpec, tastesSpec, modelsSpec] = world.globals;
  const tables: GlobalTable<unknown>[] = [];
  const table = async <K extends 'playlists' | 'tasteEmbeddings' | 'modelAnnouncements' | 'pairings'>(spec: { readonly name: string; readonly topic: K; onChange?(key: string, value: TopicValues[K] | undefined): void }) => {
    const t = createGlobalTable({ kafka: o.kafka, serde: o.serde, spec, groupPrefix: `${o.groupPrefix}.top-picks`, log, ...(o.tableTimeoutMs ? { timeoutMs: o.tableTimeoutMs } : {}) });
    tables.push(t as GlobalTable<unknown>);
    await t.start();
    return t;
  };
  const producer = createTypedProducer({ kafka: o.kafka, serde: o.serde });
  try {
    // models before tastes: a taste fits only in the embeddings in use, and putting embeddings in use resets tastes
    await table(playlistsSpec);
    await table(modelsSpec);
    await world.settled();
    const tastes = await table(tastesSpec);
    const pairings = await table(globalTableSpec('pairings', 'pairings'));
    // a snapshot is enough: stop following the topics before the long part
    await Promise.all(tables.splice(0).map((t) => t.stop()));

    const emb = world.embeddings();
    if (!emb) log('top picks: no track embeddings announced; every list falls back to popular playlists');
    const users = activeUsers(tastes.entries(), pairings.entries(), now(), activeMs);
    log(`top picks: ${users.length} active users (taste or pairing updated within ${Math.round(activeMs / 3_600_000)} h), ${world.catalog.popular(1).length > 0 ? 'catalogue loaded' : 'no playlists'}; `
      + `BPR ${world.bpr()?.version ?? 'none'}${world.canary() ? `, canary ${world.canary()!.bpr.version}` : ''}`);
    o.metrics?.started(users.length);
    const ranker = createRanker();
    const production = createRecommender({ catalog: world.catalog, index: () => world.index(), bpr: () => world.bpr() }, { ranker, buddies: nBuddies });
    const canary = createRecommender({ catalog: world.catalog, index: () => world.index(), bpr: () => world.canary()?.bpr }, { ranker, buddies: nBuddies });
    const versionOf = (bpr: string | undefined) => `buddies@emb:${emb?.version ?? 'none'}+bpr:${bpr ?? 'none'}`;

    await producer.connect();
    let done = 0;
    let coldStart = 0;
    let inCanary = 0;
    let lists = 0;
    const batchSizes: number[] = [];
    let lastLog = 0;
    while (done < users.length) {
      const n = sizer.next(users.length - done);
      const t0 = performance.now();
      const batch = users.slice(done, done + n);
      const generatedAt = now();
      const records: OutRecord<'recommendations'>[] = [];
      // one BPR per list, as live: the canary's for users in its share, production's otherwise
      const arms = new Map<Recommender, { users: string[]; version: string | undefined }>();
      for (const user of batch) {
        const served = world.bprFor(user);
        const isCanary = served !== undefined && served === world.canary()?.bpr && served !== world.bpr();
        const rec = isCanary ? canary : production;
        let arm = arms.get(rec);
        if (!arm) arms.set(rec, (arm = { users: [], version: served?.version }));
        arm.users.push(user);
        if (isCanary) inCanary++;
      }
      for (const [rec, arm] of arms) {
        const rankingUsers = arm.users.map((id) => batchRankingUser(id, {
          taste: tastes.get(id) as TopicValues['tasteEmbeddings'] | undefined,
          embeddings: emb ? { version: emb.version, dims: emb.embeddings.dims } : undefined,
          minSignal,
          owned: world.catalog.madeBy(id),
        }));
        const results = await rec.recommendMany(rankingUsers, k);
        results.forEach((r, i) => {
          if (r.recs.length === 0) return;
          const list = dailyList(arm.users[i]!, r.recs, { recommendationId: randomUUID(), modelVersion: versionOf(arm.version), generatedAt });
          if (list.coldStart) coldStart++;
          records.push({ key: list.userId, value: list });
        });
      }
      if (records.length > 0) await producer.send('recommendations', records);
      lists += records.length;
      done += n;
      batchSizes.push(n);
      const ms = performance.now() - t0;
      sizer.record(n, ms);
      o.metrics?.batch(n, ms / 1000, users.length - done);
      o.metrics?.lists(records.length - records.filter((r) => r.value.coldStart).length, records.filter((r) => r.value.coldStart).length);
      if (performance.now() - lastLog > 2000 || done === users.length) {
        lastLog = performance.now();
        log(`top picks: ${done}/${users.length} users, ${lists} lists; batch of ${n} in ${Math.round(ms)} ms, next ${sizer.size}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return { users: users.length, lists, coldStart, canary: inCanary, batches: batchSizes.length, batchSizes, seconds, modelVersion: versionOf(world.bpr()?.version) };
  } finally {
    await Promise.all(tables.map((t) => t.stop()));
    await producer.disconnect().catch(() => {});
    await world.close();
  }
}

/** A Top Picks service: runs {@link runTopPicks} at each time its cron schedule fires, until stopped. */
export interface TopPicksScheduler {
  /** Resolves when stopped. A failed run is logged and counted; the next fire runs again. */
  run(): Promise<void>;
  /** Idempotent: ends the wait for the next fire, or lets the run in progress finish first. */
  stop(): Promise<void>;
  readonly running: boolean;
}

export interface TopPicksSchedulerOptions {
  readonly schedule: CronSchedule;
  /** One run: `() => runTopPicks(options)` in the service. */
  readonly run: () => Promise<TopPicksResult>;
  readonly onRun?: (r: TopPicksResult) => void;
  readonly metrics?: TopPicksMetrics;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

export function createTopPicksScheduler(o: TopPicksSchedulerOptions): TopPicksScheduler {
  const log = o.log ?? (() => {});
  const now = o.now ?? Date.now;
  let stopped = false;
  let running = false;
  let wake: () => void = () => {};
  let loop: Promise<void> | undefined;
  return {
    get running() { return running; },
    run() {
      loop ??= (async () => {
        running = true;
        try {
          while (!stopped) {
            const at = o.schedule.next(now());
            o.metrics?.nextRun(at);
            log(`top picks: next run at ${new Date(at).toISOString()} (cron '${o.schedule.source}', UTC)`);
            // wait in steps of at most a minute, so a clock jump or a long suspend only delays a run by a minute
            while (!stopped && now() < at) {
              await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, Math.min(60_000, Math.max(0, at - now())));
                wake = () => { clearTimeout(timer); resolve(); };
              });
            }
            if (stopped) break;
            const t0 = performance.now();
            try {
              const r = await o.run();
              o.metrics?.finished('published', r.seconds, now());
              log(`top picks: published ${r.lists} daily lists for ${r.users} active users (${r.coldStart} popular, ${r.canary} canary) in ${r.seconds.toFixed(1)} s, ${r.batches} batches`);
              o.onRun?.(r);
            } catch (err) {
              o.metrics?.finished('failed', (performance.now() - t0) / 1000, now());
              log(`top picks: run failed (${err instanceof Error ? err.message : String(err)}); the next fire runs again`);
            }
          }
        } finally {
          running = false;
          o.metrics?.nextRun(undefined);
        }
      })();
      return loop;
    },
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
