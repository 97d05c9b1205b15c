import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/index.js';
import { takeRequests } from '../trainer/index.js';
import { InputError, UsageError, type CommandContext } from './command.js';
import { trainerCommand } from './trainer.js';

let work: string;
let ctx: CommandContext;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'cli-trainer-'));
  ctx = { config: { ...loadConfig({}), trainerDir: join(work, 'trainer') }, verbose: false };
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(work, { recursive: true, force: true });
});

/** Runs `buddies trainer ARGS` in-process; returns the exit code and what it printed. */
async function trainer(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await trainerCommand.run(args, ctx), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('buddies trainer (issue 10)', () => {
  it('has help for the service and for retrain', async () => {
    const r = await trainer('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: buddies trainer \[options\]/);
    for (const flag of ['--once', '--interval-ms', '--horizon-ms', '--max-interactions', '--margin', '--checkpoint-every', '--epochs']) expect(r.stdout).toContain(flag);
    expect((await trainer('retrain', '--help')).stdout).toMatch(/^usage: buddies trainer retrain --reason R/);
  });

  it('refuses bad flags as usage errors before asking any service', async () => {
    await expect(trainer('--interval-ms', '0')).rejects.toThrow(UsageError);
    await expect(trainer('--gate-metric', 'mrr')).rejects.toThrow(/--gate-metric must be one of ndcg, auc/);
    await expect(trainer('--margin=-1')).rejects.toThrow(/--margin must be a number/);
    await expect(trainer('--min-auc', '2')).rejects.toThrow(/--min-auc/);
    await expect(trainer('extra')).rejects.toThrow(/unexpected argument 'extra'/);
    await expect(trainer('retrain')).rejects.toThrow(/retrain: --reason is required/);
    await expect(trainer('retrain', '--reason', 'x', '--trigger', 'schedule')).rejects.toThrow(/--trigger must be one of request, degradation/);
  });

  it('retrain writes a request the trainer takes, with its reason and trigger', async () => {
    const r = await trainer('retrain', '--reason', 'new catalogue', '--trigger', 'degradation');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retrain requested \(degradation: new catalogue\); 1 request\(s\) pending/);
    expect((await takeRequests(ctx.config.trainerDir)).map((q) => [q.trigger, q.reason])).toEqual([['degradation', 'new catalogue']]);
    expect(await readdir(join(ctx.config.trainerDir, 'requests'))).toEqual([]);
  });

  it('says in one line when the trainer folder cannot be used', async () => {
    await writeFile(join(work, 'a-file'), '');
    ctx = { ...ctx, config: { ...ctx.config, trainerDir: join(work, 'a-file', 'trainer') } };
    const failure = trainer('retrain', '--reason', 'x');
    await expect(failure).rejects.toThrow(InputError);
    await expect(failure).rejects.toThrow(/cannot make the folder .*a-file\/trainer \(ENOTDIR\): set BUDDIES_TRAINER_DIR to a writable folder/);
  });
});
