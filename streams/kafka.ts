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

/**
 * kafkajs's log as one plain line per entry (no JSON, no stack), each distinct message once per client: a
 * broker that does not answer is retried many times, and the retries would repeat the same line.
 */
function conciseLog(write: (line: string) => void): logCreator {
  const seen = new Set<string>();
  return () => ({ namespace, level, log }) => {
    const text = `kafkajs ${LEVELS[level] ?? level} [${namespace}] ${log.message}${log.error && !log.message.includes(String(log.error)) ? `: ${String(log.error)}` : ''}`;
    if (seen.has(text)) return;
    if (seen.size >= 1000) seen.clear();
    seen.add(text);
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
