import { describe, expect, it } from 'vitest';
import type { HeldOutMetrics } from './evaluate.js';
import { decideGate, resolveGateOptions } from './gate.js';

const m = (ndcg: number, auc: number, users = 50): HeldOutMetrics => ({ ndcg, recall: ndcg, auc, users, k: 10 });
const o = resolveGateOptions({ margin: 0.02, minAuc: 0.6, minUsers: 10 });

describe('the publication gate (issue 10)', () => {
  it('announces the first model straight to production when it passes the sanity bar', () => {
    expect(decideGate(m(0.1, 0.8), undefined, o)).toMatchObject({ action: 'announce' });
    expect(decideGate(m(0.1, 0.59), undefined, o)).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/AUC 0\.5900 below the sanity bar 0\.6000/) });
  });

  it('publishes a candidate not worse than production beyond the margin, and refuses one that is, with the numbers', () => {
    expect(decideGate(m(0.19, 0.8), m(0.2, 0.8), o)).toMatchObject({ action: 'publish' }); // 0.01 worse: within 0.02
    expect(decideGate(m(0.25, 0.8), m(0.2, 0.8), o)).toMatchObject({ action: 'publish' });
    const refused = decideGate(m(0.17, 0.8), m(0.2, 0.8), o);
    expect(refused.action).toBe('refuse');
    expect(refused.reason).toMatch(/NDCG@10 0\.1700 is worse than production's 0\.2000 by 0\.0300, more than the margin 0\.0200/);
  });

  it('compares on AUC when told, and always applies the sanity bar and the minimum of users', () => {
    const auc = resolveGateOptions({ metric: 'auc', margin: 0, minAuc: 0.5 });
    expect(decideGate(m(0.5, 0.7), m(0.1, 0.75), auc)).toMatchObject({ action: 'refuse' });
    expect(decideGate(m(0.0, 0.75), m(0.5, 0.75), auc)).toMatchObject({ action: 'publish' });
    expect(decideGate(m(0.9, 0.55), m(0.1, 0.5), o)).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/sanity bar/) });
    expect(decideGate(m(0.9, 0.9, 3), undefined, o)).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/only 3 held-out user/) });
  });

  it('validates its options', () => {
    expect(() => resolveGateOptions({ margin: -1 })).toThrow(/margin/);
    expect(() => resolveGateOptions({ minAuc: 2 })).toThrow(/minAuc/);
    expect(() => resolveGateOptions({ metric: 'mrr' as never })).toThrow(/gate metric/);
  });
});
