import type { HeldOutMetrics } from './evaluate.js';

/** The held-out metric the gate compares. */
export type GateMetric = 'ndcg' | 'auc';
export const GATE_METRICS: readonly GateMetric[] = ['ndcg', 'auc'];

export interface GateOptions {
  /** Compared between candidate and production (default ndcg: NDCG@10). */
  readonly metric: GateMetric;
  /** The candidate may be this much worse than production on `metric` (absolute) and still be published. */
  readonly margin: number;
  /** Every candidate must reach this held-out AUC (a model that orders no better than chance is never published; default 0.55). */
  readonly minAuc: number;
  /** And be evaluated on at least this many held-out users (default 1). */
  readonly minUsers: number;
}

export const DEFAULT_GATE_OPTIONS: GateOptions = { metric: 'ndcg', margin: 0.01, minAuc: 0.55, minUsers: 1 };

/**
 * What happens to a trained candidate. `announce`: there is no production BPR yet and it passed the sanity bar,
 * so it goes to production at once; `publish`: published as a candidate (not worse than production beyond the
 * margin); `refuse`: not published, with the reason and its numbers.
 */
export interface GateDecision {
  readonly action: 'announce' | 'publish' | 'refuse';
  /** One line with the numbers. */
  readonly reason: string;
}

const f = (x: number) => x.toFixed(4);

/** Validates gate options (a RangeError names the bad one). */
export function resolveGateOptions(partial: Partial<GateOptions> = {}): GateOptions {
  const o: GateOptions = { ...DEFAULT_GATE_OPTIONS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  if (!GATE_METRICS.includes(o.metric)) throw new RangeError(`gate metric must be one of ${GATE_METRICS.join(', ')}, got ${String(o.metric)}`);
  if (!Number.isFinite(o.margin) || o.margin < 0) throw new RangeError(`margin must be a number >= 0, got ${o.margin}`);
  if (!(o.minAuc >= 0 && o.minAuc <= 1)) throw new RangeError(`minAuc must be in [0, 1], got ${o.minAuc}`);
  if (!Number.isInteger(o.minUsers) || o.minUsers < 0) throw new RangeError(`minUsers must be an integer >= 0, got ${o.minUsers}`);
  return o;
}

/**
 * The publication gate (Oryx's held-out threshold, and Buddies' comparison with the model in service): a pure
 * function of the held-out numbers. `production` undefined: no BPR is in production.
 */
export function decideGate(candidate: HeldOutMetrics, production: HeldOutMetrics | undefined, o: GateOptions): GateDecision {
  if (candidate.users < o.minUsers) {
    return { action: 'refuse', reason: `only ${candidate.users} held-out user(s) to evaluate on, fewer than ${o.minUsers}` };
  }
  if (candidate.auc < o.minAuc) {
    return { action: 'refuse', reason: `held-out AUC ${f(candidate.auc)} below the sanity bar ${f(o.minAuc)} (NDCG@${candidate.k} ${f(candidate.ndcg)})` };
  }
  if (!production) {
    return { action: 'announce', reason: `no BPR in production; held-out AUC ${f(candidate.auc)} passes the sanity bar ${f(o.minAuc)} (NDCG@${candidate.k} ${f(candidate.ndcg)})` };
  }
  const c = candidate[o.metric];
  const p = production[o.metric];
  const name = o.metric === 'ndcg' ? `NDCG@${candidate.k}` : 'AUC';
  if (c < p - o.margin) {
    return { action: 'refuse', reason: `held-out ${name} ${f(c)} is worse than production's ${f(p)} by ${f(p - c)}, more than the margin ${f(o.margin)}` };
  }
  return { action: 'publish', reason: `held-out ${name} ${f(c)} against production's ${f(p)} (margin ${f(o.margin)})` };
}
