import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listCheckpoints, pruneCheckpoints, segmentDir } from './checkpoints.js';
import { pendingRequests, requestRetrain, retrainRequester, takeRequests } from './requests.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'buddies-trainer-req-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('retrain requests (issue 10)', () => {
  it('are files that coalesce: taken all at once, oldest first, then gone', async () => {
    expect(await pendingRequests(dir)).toBe(0);
    await requestRetrain(dir, 'manual: new catalogue');
    await requestRetrain(dir, 'click-through fell 30%', 'degradation');
    expect(await pendingRequests(dir)).toBe(2);
    const taken = await takeRequests(dir);
    expect(taken.map((r) => [r.trigger, r.reason])).toEqual([['request', 'manual: new catalogue'], ['degradation', 'click-through fell 30%']]);
    expect(await pendingRequests(dir)).toBe(0);
    expect(await takeRequests(dir)).toEqual([]);
  });

  it('can be handed to a degradation monitor as a plain (reason) => Promise callback', async () => {
    const onTrigger = retrainRequester(dir);
    await onTrigger('follow rate 0.8 of baseline');
    expect(await takeRequests(dir)).toMatchObject([{ trigger: 'degradation', reason: 'follow rate 0.8 of baseline' }]);
  });

  it('never shows a half-written request, and takes an unreadable one as a request without a reason', async () => {
    mkdirSync(join(dir, 'requests'));
    writeFileSync(join(dir, 'requests', '.abc.tmp'), '{"rea');
    writeFileSync(join(dir, 'requests', '1-x.json'), '{"rea');
    expect(await pendingRequests(dir)).toBe(1);
    expect(await takeRequests(dir)).toMatchObject([{ trigger: 'request', reason: 'unreadable request 1-x.json' }]);
  });
});

describe('checkpoint folders (issue 10)', () => {
  it('number epochs from the run start across segments, newest first, and prune to the newest few', () => {
    for (const [from, e] of [[0, 2], [0, 4], [4, 2], [4, 4]] as const) mkdirSync(join(segmentDir(dir, from), `epoch-${String(e).padStart(4, '0')}`), { recursive: true });
    expect(listCheckpoints(dir).map((c) => c.epoch)).toEqual([8, 6, 4, 2]);
    expect(pruneCheckpoints(dir, 2)).toBe(2);
    expect(listCheckpoints(dir).map((c) => c.epoch)).toEqual([8, 6]);
    expect(readdirSync(segmentDir(dir, 0))).toEqual([]);
  });
});
