import type { IHeaders, KafkaMessage } from 'kafkajs';
import { BuddiesError, errorMessage } from './errors.js';

/** Header names on dead-letter records: the original bytes are the value, these say why and whence. */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  code: 'dlq.reason.code',
  errorClass: 'dlq.error.class',
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  timestamp: 'dlq.source.timestamp',
  consumerGroup: 'dlq.consumer.group',
  failedAt: 'dlq.failed.at',
} as const;

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly groupId: string;
}

/** The dead-letter record for `source`: original key, value and headers kept; reason and origin added. */
export function deadLetterMessage(source: DeadLetterSource, err: unknown, now = Date.now()): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const { message } = source;
  const headers: IHeaders = {
    ...(message.headers ?? {}),
    [DLQ_HEADERS.reason]: errorMessage(err).slice(0, 4000),
    [DLQ_HEADERS.code]: err instanceof BuddiesError ? err.code : 'PROCESSING',
    [DLQ_HEADERS.errorClass]: err instanceof Error ? err.name : typeof err,
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: message.offset,
    [DLQ_HEADERS.timestamp]: message.timestamp,
    [DLQ_HEADERS.consumerGroup]: source.groupId,
    [DLQ_HEADERS.failedAt]: String(now),
  };
  return { key: message.key ?? null, value: message.value ?? null, headers };
}

/** Reads a header as text (kafkajs gives Buffers, or arrays of them for repeated headers). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? undefined : one.toString();
}
