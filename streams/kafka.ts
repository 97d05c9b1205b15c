import { Kafka, logLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { KafkaSecurityConfig } from '../config/index.js';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** kafkajs log level; default WARN. */
  readonly logLevel?: logLevel;
  /** Where kafkajs's log lines go (default stderr). */
  readonly log?: (line: string) => void;
  /** TLS and SASL (default: PLAINTEXT, the local stack). */
  readonly security?: KafkaSecurityConfig;
}

/**
 * kafkajs's `ssl` and `sasl` settings for a security configuration. The password goes to kafkajs and nowhere
 * else: kafkajs does not log it, and neither does {@link conciseLog} (it prints messages, not the client config).
 */
export function kafkaSecurityOptions(sec: KafkaSecurityConfig | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (!sec || sec.protocol === 'PLAINTEXT') return {};
  const tls = sec.protocol === 'SSL' || sec.protocol === 'SASL_SSL';
  const ssl: KafkaConfig['ssl'] = !tls ? undefined : sec.ca || sec.cert
    ? { ...(sec.ca ? { ca: [sec.ca] } : {}), ...(sec.cert && sec.key ? { cert: sec.cert, key: sec.key } : {}), rejectUnauthorized: true }
    : true;
  if (sec.protocol === 'SSL') return { ssl };
  if (!sec.sasl) throw new Error(`createKafka: ${sec.protocol} needs SASL credentials`);
  const { mechanism, username, password } = sec.sasl;
  const sasl = { mechanism, username, password } as SASLOptions; // one of kafkajs's three mechanism shapes
  return { ...(ssl === undefined ? {} : { ssl }), sasl };
}

const LEVELS: Partial<Record<logLevel, string>> = { [logLevel.ERROR]: 'ERROR', [logLevel.WARN]: 'WARN', [logLevel.INFO]: 'INFO', [logLevel.DEBUG]: 'DEBUG' };

/** How long a repeated kafkajs message stays silent: retries repeat one line many times a minute. */
const REPEAT_SILENCE_MS = 60_000;

/**
 * kafkajs's log as one plain line per entry (no JSON, no stack). A message repeated within a minute is printed
 * once: a broker that does not answer is retried many times, and every retry would repeat the line; the same
 * failure an hour later is printed again.
 */
export function conciseLog(write: (line: string) => void, now: () => number = Date.now): logCreator {
  const lastPrinted = new Map<string, number>();
  return () => ({ namespace, level, log }) => {
    const text = `kafkajs ${LEVELS[level] ?? level} [${namespace}] ${log.message}${log.error && !log.message.includes(String(log.error)) ? `: ${String(log.error)}` : ''}`;
    const t = now();
    const last = lastPrinted.get(text);
    if (last !== undefined && t - last < REPEAT_SILENCE_MS) return;
    if (lastPrinted.size >= 1000) lastPrinted.clear();
    lastPrinted.set(text, t);
    write(text);
  };
}

const TLS_CONNECTION_TIMEOUT_MS = 10_000;

/** The one place a kafkajs client is built (TLS and SASL from `security`, see docs/security.md). */
export function createKafka(opts: KafkaOptions): Kafka {
  if (opts.brokers.length === 0) throw new Error('createKafka: at least one broker is required');
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: opts.logLevel ?? logLevel.WARN,
    logCreator: conciseLog(opts.log ?? ((line) => process.stderr.write(`${line}\n`))),
    retry: { initialRetryTime: 200, retries: 8 },
    // a TLS handshake on a busy machine outlasts kafkajs's default of 1 s
    ...(opts.security?.protocol === 'SSL' || opts.security?.protocol === 'SASL_SSL' ? { connectionTimeout: TLS_CONNECTION_TIMEOUT_MS } : {}),
    ...kafkaSecurityOptions(opts.security),
  };
  return new Kafka(config);
}
