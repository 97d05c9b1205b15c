/**
 * Errors with meaning: `retriable` says whether trying again can help (the runners retry those with
 * backoff); everything else about a record sends it to the dead-letter topic with `reason`.
 */
export abstract class BuddiesError extends Error {
  abstract readonly retriable: boolean;
  /** Short stable code, written to the dead-letter header `dlq.reason.code`. */
  abstract readonly code: string;
  constructor(message: string, readonly context: Readonly<Record<string, string | number>> = {}, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The bytes are not a record we can read: bad wire format, unknown schema id, corrupt Avro. */
export class DecodeError extends BuddiesError {
  override readonly name = 'DecodeError';
  readonly retriable = false;
  readonly code = 'DECODE';
}

/** The record decoded but breaks the contract (wrong shape for its topic, failed a check). */
export class ValidationError extends BuddiesError {
  override readonly name = 'ValidationError';
  readonly retriable = false;
  readonly code = 'VALIDATION';
}

/** A passing failure of something we depend on (registry or broker unreachable, timeouts). */
export class TransientError extends BuddiesError {
  override readonly name = 'TransientError';
  readonly retriable = true;
  readonly code = 'TRANSIENT';
}

/** Topics a command needs do not exist yet (`buddies topics ensure` creates them). */
export class MissingTopicsError extends BuddiesError {
  override readonly name = 'MissingTopicsError';
  readonly retriable = false;
  readonly code = 'MISSING_TOPICS';
  constructor(readonly topics: readonly string[]) {
    super(`topic${topics.length > 1 ? 's' : ''} ${topics.join(', ')} ${topics.length > 1 ? 'do' : 'does'} not exist`);
  }
}

/** Whether an error is worth retrying: ours say so, kafkajs marks its own `retriable`. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof BuddiesError) return err.retriable;
  if (err && typeof err === 'object' && 'retriable' in err) return (err as { retriable: unknown }).retriable === true;
  return false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
