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
  /** Set when the value was cut to fit the topic: the original value's size in bytes. */
  originalSize: 'dlq.original.size',
} as const;

/**
 * The most value bytes a dead letter keeps: under the broker's default max.message.bytes (1 MiB) with room for
 * the key and headers, so a record too large to dead-letter whole never stalls its partition.
 */
export const MAX_DEAD_LETTER_BYTES = 900_000;

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly groupId: string;
}

/**
 * The dead-letter record for `source`: original key, value and headers kept (a value over `maxBytes` cut to that
 * size, its original size in a header); reason and origin added.
 */
export function deadLetterMessage(source: DeadLetterSource, err: unknown, now = Date.now(), maxBytes = MAX_DEAD_LETTER_BYTES): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const { message } = source;
  const value = message.value ?? null;
  const cut = value !== null && value.length > maxBytes;
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
    ...(cut ? { [DLQ_HEADERS.originalSize]: String(value.length) } : {}),
  };
  return { key: message.key ?? null, value: cut ? value.subarray(0, maxBytes) : value, headers };
}

/** Reads a header as text (kafkajs gives Buffers, or arrays of them for repeated headers). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? undefined : one.toString();
}
