import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadFactors, type BprFactors } from '../models/bpr/index.js';

/**
 * Checkpoints of a run: `<run>/checkpoints/from-NNNNNN/epoch-MMMM/`, one folder per training segment. A
 * segment starts at epoch NNNNNN (0 for the first, the epoch of the checkpoint it resumed from after a crash),
 * and models/bpr's `checkpoint` option writes its epoch MMMM (counted from the segment's start) there, so the
 * checkpoint holds the model after epoch NNNNNN + MMMM of the run.
 */
export const CHECKPOINTS = 'checkpoints';

export function segmentDir(runDir: string, fromEpoch: number): string {
  return join(runDir, CHECKPOINTS, `from-${String(fromEpoch).padStart(6, '0')}`);
}

export interface CheckpointRef {
  /** Epochs of the run done when it was written. */
  readonly epoch: number;
  readonly dir: string;
}

/** Every checkpoint folder of a run, newest (highest epoch) first. Complete or not: see {@link newestCheckpoint}. */
export function listCheckpoints(runDir: string): CheckpointRef[] {
  const out: CheckpointRef[] = [];
  let segments: string[];
  try {
    segments = readdirSync(join(runDir, CHECKPOINTS));
  } catch {
    return [];
  }
  for (const s of segments) {
    const from = /^from-(\d+)$/.exec(s);
    if (!from) continue;
    let epochs: string[];
    try {
      epochs = readdirSync(join(runDir, CHECKPOINTS, s));
    } catch {
      continue;
    }
    for (const e of epochs) {
      const m = /^epoch-(\d+)$/.exec(e);
      if (m) out.push({ epoch: Number(from[1]) + Number(m[1]), dir: join(runDir, CHECKPOINTS, s, e) });
    }
  }
  return out.sort((a, b) => b.epoch - a.epoch || (a.dir < b.dir ? 1 : -1));
}

/**
 * The newest complete checkpoint: the highest epoch whose folder loads (models/bpr writes manifest.json last,
 * and loadFactors checks the sizes, so a checkpoint cut by a crash does not load). Folders that do not load are
 * deleted, so a later prune never keeps a broken one over a good one.
 */
export async function newestCheckpoint(runDir: string): Promise<(CheckpointRef & { readonly factors: BprFactors }) | undefined> {
  for (const c of listCheckpoints(runDir)) {
    try {
      const { factors, manifest } = await loadFactors(c.dir);
      if (manifest.checkpoint !== true) throw new Error('not a checkpoint');
      return { ...c, factors };
    } catch {
      rmSync(c.dir, { recursive: true, force: true });
    }
  }
  return undefined;
}

/** Deletes all but the newest `keep` checkpoints (called between epochs, when every checkpoint on disk is complete). */
export function pruneCheckpoints(runDir: string, keep = 2): number {
  const old = listCheckpoints(runDir).slice(keep);
  for (const c of old) rmSync(c.dir, { recursive: true, force: true });
  return old.length;
}
