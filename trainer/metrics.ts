import { serveProbes } from '../streams/index.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WindowSetStats } from './window-set.js';
import { RUN_STATUSES, type RunOutcome } from './run.js';
import type { RetrainTrigger } from './requests.js';

/**
 * The trainer's Prometheus metrics, in a registry of their own. The trainer calls the hooks as things happen;
 * the training-set gauges are read from `setStats` at each scrape.
 */
export interface TrainerMetrics {
  readonly registry: Registry;
  /** Where the training-set gauges read from (the live window set). */
  setStats(read: () => WindowSetStats): void;
  backend(name: string): void;
  epoch(epoch: number, total: number, samples: number): void;
  resumed(epoch: number): void;
  windowsRead(n: number): void;
  evicted(reason: 'horizon' | 'cap', n: number): void;
  forgotten(n: number): void;
  request(trigger: RetrainTrigger): void;
  training(active: boolean): void;
  outcome(o: RunOutcome): void;
}

export function createTrainerMetrics(opts: { readonly defaultMetrics?: boolean } = {}): TrainerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const r = [registry];
  let stats: (() => WindowSetStats) | undefined;
  const backendInfo = new Gauge({ name: 'buddies_trainer_backend_info', help: 'The BPR backend models/bpr picked for the last training (value 1).', labelNames: ['backend'], registers: r });
  const seconds = new Histogram({
    name: 'buddies_trainer_training_seconds', help: 'Wall time of a training (the resumed part after a crash).', buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers: r,
  });
  const samples = new Counter({ name: 'buddies_trainer_samples_total', help: 'BPR SGD samples trained on.', registers: r });
  const epochs = new Counter({ name: 'buddies_trainer_epochs_total', help: 'Training epochs completed.', registers: r });
  const epochGauge = new Gauge({ name: 'buddies_trainer_epoch', help: 'Epoch of the training in progress (counted from the run start, also after a resume); 0 when idle.', registers: r });
  const epochTotal = new Gauge({ name: 'buddies_trainer_epochs_planned', help: 'Epochs of the training in progress; 0 when idle.', registers: r });
  const resumedRuns = new Counter({ name: 'buddies_trainer_resumed_runs_total', help: 'Runs resumed from a checkpoint after a crash.', registers: r });
  const resumedEpoch = new Gauge({ name: 'buddies_trainer_resumed_from_epoch', help: 'Epoch of the checkpoint the last resumed run started from.', registers: r });
  const active = new Gauge({ name: 'buddies_trainer_training', help: '1 while a run trains or evaluates.', registers: r });
  const runs = new Counter({ name: 'buddies_trainer_runs_total', help: 'Finished runs by status (announced, published, refused, skipped, failed).', labelNames: ['status', 'trigger'], registers: r });
  const lastStatus = new Gauge({ name: 'buddies_trainer_last_run_status', help: 'The status of the last finished run (value 1).', labelNames: ['status'], registers: r });
  const lastRun = new Gauge({ name: 'buddies_trainer_last_run_timestamp_seconds', help: 'When the last run finished (Unix time).', registers: r });
  const refusals = new Counter({ name: 'buddies_trainer_refusals_total', help: 'Candidates not published by the gate.', registers: r });
  const heldOut = new Gauge({
    name: 'buddies_trainer_held_out', help: 'Held-out numbers of the last evaluated run: model candidate or production, metric ndcg, recall, auc, users.',
    labelNames: ['model', 'metric'], registers: r,
  });
  const requests = new Counter({ name: 'buddies_trainer_retrain_requests_total', help: 'Retrain requests taken, by trigger.', labelNames: ['trigger'], registers: r });
  const read = new Counter({ name: 'buddies_trainer_windows_read_total', help: 'Interaction windows read from the topic.', registers: r });
  const evicted = new Counter({ name: 'buddies_trainer_windows_evicted_total', help: 'Windows dropped from the training set: past the horizon or over the cap.', labelNames: ['reason'], registers: r });
  const forgotten = new Counter({ name: 'buddies_trainer_forgotten_windows_total', help: 'Windows dropped because their user asked to be forgotten (a tombstone).', registers: r });
  const setGauge = (name: string, help: string, key: keyof Omit<WindowSetStats, 'latestEnd'>) =>
    new Gauge({ name, help, registers: r, collect() { if (stats) this.set(stats()[key]); } });
  setGauge('buddies_trainer_training_set_windows', 'Interaction windows in the sliding training set.', 'windows');
  setGauge('buddies_trainer_training_set_interactions', 'Window-playlist interactions in the sliding training set (what the cap bounds).', 'interactions');
  setGauge('buddies_trainer_training_set_users', 'Users in the sliding training set.', 'users');
  setGauge('buddies_trainer_training_set_playlists', 'Playlists in the sliding training set.', 'playlists');
  for (const s of RUN_STATUSES) lastStatus.set({ status: s }, 0);
  return {
    registry,
    setStats(f) {
      stats = f;
    },
    backend(name) {
      backendInfo.reset();
      backendInfo.set({ backend: name }, 1);
    },
    epoch(e, total, n) {
      epochs.inc();
      samples.inc(n);
      epochGauge.set(e);
      epochTotal.set(total);
    },
    resumed(e) {
      resumedRuns.inc();
      resumedEpoch.set(e);
    },
    windowsRead: (n) => read.inc(n),
    evicted: (reason, n) => { if (n > 0) evicted.inc({ reason }, n); },
    forgotten: (n) => { if (n > 0) forgotten.inc(n); },
    request: (trigger) => requests.inc({ trigger }),
    training(on) {
      active.set(on ? 1 : 0);
      if (!on) {
        epochGauge.set(0);
        epochTotal.set(0);
      }
    },
    outcome(o) {
      runs.inc({ status: o.status, trigger: o.trigger });
      for (const s of RUN_STATUSES) lastStatus.set({ status: s }, s === o.status ? 1 : 0);
      lastRun.set(Date.parse(o.finishedAt) / 1000);
      if (o.status === 'refused') refusals.inc();
      if (o.trained && o.trained.epochsTrained > 0) seconds.observe(o.trained.seconds);
      const put = (model: string, m: RunOutcome['candidate']) => {
        if (!m) return;
        heldOut.set({ model, metric: 'ndcg' }, m.ndcg);
        heldOut.set({ model, metric: 'recall' }, m.recall);
        heldOut.set({ model, metric: 'auc' }, m.auc);
        heldOut.set({ model, metric: 'users' }, m.users);
      };
      if (o.candidate) {
        heldOut.reset();
        put('candidate', o.candidate);
        put('production', o.production);
      }
    },
  };
}

export interface TrainerHealthServer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Serves `/metrics`, `/healthz` (200 while the trainer is live: its consumer runs, its loop has not failed) and
 * `/readyz` (200 once the training set has caught up with the topic) on `port` (0: any free port).
 */
export function serveTrainerHealth(opts: {
  readonly port: number;
  readonly host?: string;
  readonly metrics: TrainerMetrics;
  readonly live: () => boolean;
  readonly ready: () => boolean;
}): Promise<TrainerHealthServer> {
  return serveProbes({
    port: opts.port, ...(opts.host !== undefined ? { host: opts.host } : {}), registry: opts.metrics.registry,
    live: () => (opts.live() ? undefined : 'the trainer stopped or its consumer failed'),
    ready: () => (opts.ready() ? undefined : 'reading the interaction windows up to the end of the topic'),
  });
}
