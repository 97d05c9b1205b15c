/**
 * What `/readyz` checks: the services the gateway depends on answer (Kafka, the schema registry, ClickHouse, which
 * the metrics channel reads). Each check has a deadline and the results are kept for a second, so a burst of probes
 * costs one round of requests.
 */
import type { Admin, Kafka } from 'kafkajs';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the service answers; rejects (within its deadline) when it does not. */
  check(): Promise<void>;
}

const withDeadline = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
};

/** Kafka answers a metadata request (one admin client, connected on first use and kept). */
export function kafkaCheck(kafka: Kafka, timeoutMs = 3000): ReadinessCheck & { close(): Promise<void> } {
  let admin: Admin | undefined;
  return {
    name: 'kafka',
    async check() {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      const a = admin;
      await withDeadline((async () => { await a.connect(); await a.describeCluster(); })(), timeoutMs, 'kafka').catch(async (err: unknown) => {
        admin = undefined;
        await a.disconnect().catch(() => {});
        throw err;
      });
    },
    async close() {
      await admin?.disconnect().catch(() => {});
      admin = undefined;
    },
  };
}

/** An HTTP GET of `url` answers 2xx. */
export function httpCheck(name: string, url: string, timeoutMs = 3000): ReadinessCheck {
  return {
    name,
    async check() {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer().catch(() => {});
      if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
    },
  };
}

/** The gateway's dependencies: Kafka, the registry (`GET {url}/config`) and ClickHouse (`GET {url}/ping`). */
export function serviceChecks(opts: { readonly kafka: Kafka; readonly registryUrl: string; readonly clickhouseUrl: string }): ReadinessCheck[] {
  return [
    kafkaCheck(opts.kafka),
    httpCheck('registry', `${opts.registryUrl.replace(/\/+$/, '')}/config`),
    httpCheck('clickhouse', `${opts.clickhouseUrl.replace(/\/+$/, '')}/ping`),
  ];
}

export interface ReadinessResult {
  readonly ready: boolean;
  /** Each check: null when it passed, else why it failed. */
  readonly checks: Readonly<Record<string, string | null>>;
}

/** Runs every check at once; a result is reused for `cacheMs` (default 1000). */
export function createReadiness(checks: readonly ReadinessCheck[], cacheMs = 1000): () => Promise<ReadinessResult> {
  let last: { at: number; result: Promise<ReadinessResult> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < cacheMs) return last.result;
    const result = Promise.all(checks.map((c) => c.check().then(() => null, (err: unknown) => (err instanceof Error ? err.message : String(err)))))
      .then((errors) => ({ ready: errors.every((e) => e === null), checks: Object.fromEntries(checks.map((c, i) => [c.name, errors[i] ?? null])) }));
    last = { at: now, result };
    return result;
  };
}
