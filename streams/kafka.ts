import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** kafkajs log level; default WARN. */
  readonly logLevel?: logLevel;
  /** Where kafkajs's log lines go (default stderr). */
  readonly log?: (line: string) => void;
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

/** The one place a kafkajs client is built. */
export function createKafka(opts: KafkaOptions): Kafka {
  if (opts.brokers.length === 0) throw new Error('createKafka: at least one broker is required');
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: opts.logLevel ?? logLevel.WARN,
    logCreator: conciseLog(opts.log ?? ((line) => process.stderr.write(`${line}\n`))),
    retry: { initialRetryTime: 200, retries: 8 },
  };
  return new Kafka(config);
}
