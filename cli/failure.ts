import type { BuddiesConfig } from '../config/index.js';
import { DatasetError, WorldExistsError, WorldOptionsError } from '../data/index.js';
import { MissingTopicsError } from '../streams/index.js';
import { WarehouseSchemaError } from '../warehouse/index.js';
import { InputError } from './command.js';

/** How a failed command is reported: one line, and whether it was an expected condition (no hint to --verbose). */
export interface Failure {
  readonly line: string;
  readonly expected: boolean;
}

const UNREACHABLE = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|EAI_AGAIN)\b[^\d\w]*([\w.-]+:\d+)?/;

/** The error and its causes (kafkajs and fetch nest the socket error), messages joined. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    out.push(e instanceof Error ? `${e.name}: ${e.message} ${(e as { code?: unknown }).code ?? ''}` : String(e));
    const original = (e as { originalError?: unknown }).originalError; // kafkajs wraps retried errors here
    if (original) out.push(original instanceof Error ? original.message : String(original));
  }
  return out.join(' | ');
}

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
}

/** Which service an address belongs to, by the configuration, and the variable that sets it. */
function serviceAt(address: string | undefined, cfg: BuddiesConfig): { name: string; variable: string; address: string } | undefined {
  const services = [
    { name: 'Kafka', variable: 'KAFKA_BROKERS', addresses: cfg.kafka.brokers },
    { name: 'The schema registry', variable: 'SCHEMA_REGISTRY_URL', addresses: [hostPort(cfg.registry.url)] },
    { name: 'ClickHouse', variable: 'CLICKHOUSE_URL', addresses: [hostPort(cfg.clickhouse.url)] },
  ];
  const norm = (a: string) => a.replace(/^localhost:/, '127.0.0.1:');
  const hit = address ? services.find((s) => s.addresses.some((a) => norm(a) === norm(address))) : undefined;
  return hit ? { name: hit.name, variable: hit.variable, address: address! } : undefined;
}

/**
 * One line a person can act on for a failed command: expected conditions (a service down, topics or the
 * warehouse schema missing, bad input) name the command to run; anything else is its message.
 */
export function describeFailure(err: unknown, cfg: BuddiesConfig): Failure {
  if (err instanceof MissingTopicsError) return { line: `${err.message}: create them with 'buddies topics ensure'`, expected: true };
  if (err instanceof WarehouseSchemaError) return { line: `ClickHouse ${err.message}: run 'buddies warehouse migrate'`, expected: true };
  if (err instanceof InputError || err instanceof DatasetError || err instanceof WorldOptionsError || err instanceof WorldExistsError) {
    return { line: err.message, expected: true };
  }
  const text = messages(err);
  const down = UNREACHABLE.exec(text);
  if (down || /KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|Connection timeout/.test(text)) {
    const service = serviceAt(down?.[2], cfg) ?? (/KafkaJS/.test(text) ? { name: 'Kafka', variable: 'KAFKA_BROKERS', address: cfg.kafka.brokers.join(',') } : undefined);
    const what = service ? `${service.name} at ${service.address} is not reachable` : `a service is not reachable (${down?.[0] ?? 'connection failed'})`;
    const external = service?.name === 'Kafka' ? cfg.kafka.external : service?.name === 'ClickHouse' ? cfg.clickhouse.external : service ? cfg.registry.external : false;
    const fix = external ? `check ${service!.variable}` : "start the local stack with 'buddies stack up' (status: 'buddies stack status')";
    return { line: `${what}: ${fix}`, expected: true };
  }
  const inUse = /EADDRINUSE[^\d]*(?:[\d.:]*:)?(\d+)/.exec(text);
  if (inUse) return { line: `port ${inUse[1]} is already in use: pick a free one (--metrics-port, or BUDDIES_METRICS_PORT; 0 takes any)`, expected: true };
  const missingDb = /Database (\S+) (?:doesn't|does not) exist/.exec(text);
  if (missingDb) return { line: `ClickHouse database ${missingDb[1]!.replace(/[`'"]/g, '')} does not exist: run 'buddies warehouse migrate'`, expected: true };
  if (/Table \S+ (?:doesn't|does not) exist/.test(text)) return { line: `the warehouse schema is behind: run 'buddies warehouse migrate'`, expected: true };
  const first = err instanceof Error ? err.message : String(err);
  // ClickHouse 18.16 appends its server stack trace to the message
  return { line: first.split(/\n|, Stack trace:|Stack trace:/)[0]!.trim(), expected: false };
}
