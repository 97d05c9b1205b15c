import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errno, TRAINER_FILES, writeAtomic } from './files.js';

/** Why a run started: the interval came round, someone asked (`buddies trainer retrain`), or the degradation monitor did. */
export type RetrainTrigger = 'schedule' | 'request' | 'degradation' | 'once';
export const RETRAIN_TRIGGERS: readonly RetrainTrigger[] = ['schedule', 'request', 'degradation', 'once'];

export interface RetrainRequest {
  readonly reason: string;
  readonly trigger: RetrainTrigger;
  /** ISO 8601. */
  readonly at: string;
}

/**
 * Asks the trainer that uses `trainerDir` to retrain now: writes one request file under `<trainerDir>/requests/`
 * (atomically: a trainer never reads half a request). The trainer takes every pending request before its next
 * run, so requests made while it trains (or while it is down) coalesce into one run after it, their reasons
 * recorded with the run. Works from any process that sees the folder (the trainer's, `buddies trainer retrain`,
 * a degradation monitor); idempotent enough to call on every trigger.
 */
export async function requestRetrain(trainerDir: string, reason: string, trigger: RetrainTrigger = 'request'): Promise<RetrainRequest> {
  const r: RetrainRequest = { reason: reason.trim() || 'no reason given', trigger, at: new Date().toISOString() };
  const name = `${Date.now().toString().padStart(15, '0')}-${randomBytes(4).toString('hex')}.json`;
  await writeAtomic(join(trainerDir, TRAINER_FILES.requests, name), `${JSON.stringify(r)}\n`);
  return r;
}

/**
 * `requestRetrain` bound to a trainer folder and a trigger: a `(reason) => Promise` to hand to whoever triggers
 * retraining, e.g. `monitor.onTrigger = retrainRequester(config.trainerDir)` for the degradation monitor.
 */
export function retrainRequester(trainerDir: string, trigger: RetrainTrigger = 'degradation'): (reason: string) => Promise<RetrainRequest> {
  return (reason) => requestRetrain(trainerDir, reason, trigger);
}

async function requestFiles(trainerDir: string): Promise<string[]> {
  const names = await readdir(join(trainerDir, TRAINER_FILES.requests)).catch((err: unknown) => {
    if (errno(err) === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
}

/** How many requests wait. */
export async function pendingRequests(trainerDir: string): Promise<number> {
  return (await requestFiles(trainerDir)).length;
}

/** Takes (reads and deletes) the pending requests, oldest first; an unreadable file counts as a request without a reason. */
export async function takeRequests(trainerDir: string): Promise<RetrainRequest[]> {
  const out: RetrainRequest[] = [];
  for (const name of await requestFiles(trainerDir)) {
    const path = join(trainerDir, TRAINER_FILES.requests, name);
    try {
      const r = JSON.parse(await readFile(path, 'utf8')) as Partial<RetrainRequest>;
      const trigger = r.trigger && RETRAIN_TRIGGERS.includes(r.trigger) ? r.trigger : 'request';
      out.push({ reason: typeof r.reason === 'string' ? r.reason : 'no reason given', trigger, at: typeof r.at === 'string' ? r.at : new Date().toISOString() });
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      out.push({ reason: `unreadable request ${name}`, trigger: 'request', at: new Date().toISOString() });
    }
    await rm(path, { force: true });
  }
  return out;
}
