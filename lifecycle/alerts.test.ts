import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { findRootDir } from '../config/index.js';
import { createCanaryController } from './controller.js';
import { DEFAULT_CANARY_RULE } from './decision.js';
import { createDegradationMonitor, DEFAULT_MONITOR_OPTIONS } from './monitor.js';

// js-yaml is in node_modules (a dependency of the linter); no YAML parser is a dependency of the app itself
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { groups: Array<{ name: string; rules: Rule[] }> };
}

const file = join(findRootDir(), 'k8s/alerts/buddies-rules.yaml');
const doc = yaml.load(readFileSync(file, 'utf8')) as RuleFile;
const rules = doc.spec.groups.flatMap((g) => g.rules);

/** Every metric name the lifecycle exports (a monitor and a controller on one registry). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new Registry();
  const noop = { decision: async () => {}, trigger: async () => {} };
  const counts = { bprArms: async () => [], versionCounts: async () => [] };
  createDegradationMonitor({ counts, recorder: noop, options: DEFAULT_MONITOR_OPTIONS, onTrigger: () => {}, metrics });
  createCanaryController({
    deps: { registry: {} as never, announcements: { latest: async () => new Map(), write: async () => {} } }, counts, recorder: noop, rule: DEFAULT_CANARY_RULE, metrics,
  });
  return new Set((await metrics.getMetricsAsJSON()).map((m) => m.name));
}

describe('the lifecycle alert rules (issue 10)', () => {
  it('is a PrometheusRule whose rules are well formed', () => {
    expect(doc).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'buddies-lifecycle' } });
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      expect(typeof r.expr).toBe('string');
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smhd]$/);
      expect(r.labels?.severity).toMatch(/^(info|warning|critical)$/);
      expect(r.annotations?.summary).toBeTruthy();
      // brackets balance (a cheap check of the PromQL's shape)
      let depth = 0;
      for (const ch of r.expr.replace(/"[^"]*"/g, '')) {
        if ('([{'.includes(ch)) depth++;
        if (')]}'.includes(ch)) depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
    }
  });

  it('reads only metrics the monitor and the controller export', async () => {
    const names = await exportedNames();
    for (const r of rules) {
      const used = r.expr.match(/\bbuddies_[a-z_]+/g) ?? [];
      expect(used.length).toBeGreaterThan(0);
      // a counter is exported under its name without _total in prom-client's JSON
      for (const m of used) expect(names.has(m) || names.has(m.replace(/_total$/, '')), `${r.alert}: ${m}`).toBe(true);
    }
  });

  it('states the monitor\'s own condition: its default threshold and minimum samples', () => {
    const degraded = rules.find((r) => r.alert === 'BuddiesOnlineMetricDegraded')!;
    const threshold = Number(/\/ ignoring\(window\) buddies_model_online_rate\{window="baseline"\} > ([0-9.]+)/.exec(degraded.expr)?.[1]);
    expect(threshold).toBe(DEFAULT_MONITOR_OPTIONS.threshold);
    const samples = [...degraded.expr.matchAll(/buddies_model_online_samples\{window="(recent|baseline)"\} >= (\d+)/g)];
    expect(samples.map((m) => [m[1], Number(m[2])])).toEqual([['recent', DEFAULT_MONITOR_OPTIONS.minSamples], ['baseline', DEFAULT_MONITOR_OPTIONS.minSamples]]);
    expect(degraded.annotations?.summary).toContain(`${DEFAULT_MONITOR_OPTIONS.threshold * 100}%`);
  });
});
