import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** kafkajs log level; default WARN. */
  readonly logLevel?: logLevel;
}

/** The one place a kafkajs client is built. */
export function createKafka(opts: KafkaOptions): Kafka {
  if (opts.brokers.length === 0) throw new Error('createKafka: at least one broker is required');
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: opts.logLevel ?? logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8 },
  };
  return new Kafka(config);
}
