/**
 * A connection's outgoing messages, with a cap on what it holds: bytes handed to the socket and not yet written out
 * (`maxBufferedBytes`), then a queue where a keyed message (a user's list, a metrics snapshot) replaces the queued
 * one with the same key (coalescing: a slow client gets the newest list, never a backlog), and unkeyed ones (acks,
 * pongs, errors) wait up to `maxQueued`. Pure: the socket is behind {@link Transport}.
 *
 * What one connection can hold is therefore bounded: `maxBufferedBytes` plus one message, plus one message per key
 * (the caller bounds the keys: one per subscription), plus `maxQueued` control messages.
 */

/** The socket as the queue sees it: `write` calls `done` once the data left this process (or failed). */
export interface Transport {
  write(data: string, done: (err?: Error) => void): void;
}

export interface OutMessage<M = unknown> {
  readonly data: string;
  /** Messages with the same key replace each other while queued (only the newest goes out). */
  readonly key?: string;
  /** Carried to `onWrite` (e.g. when the list was generated, for the push-latency histogram). */
  readonly meta?: M;
}

export type PushResult = 'sent' | 'queued' | 'coalesced' | 'overflow';

export interface SendQueueOptions<M> {
  readonly transport: Transport;
  /** Bytes in flight to the socket before messages wait in the queue. */
  readonly maxBufferedBytes: number;
  /** Unkeyed messages that may wait; one more is an overflow (the caller closes the connection). */
  readonly maxQueued: number;
  /** Called as each message is handed to the transport. */
  readonly onWrite?: (m: OutMessage<M>) => void;
}

export interface SendQueue<M = unknown> {
  /** Sends now if the buffer has room and nothing waits, else queues (or replaces a queued message of the same key). */
  push(m: OutMessage<M>): PushResult;
  /** Bytes handed to the transport whose write has not completed. */
  readonly bufferedBytes: number;
  /** Messages waiting in the queue. */
  readonly queued: number;
  /** Bytes of the messages waiting in the queue. */
  readonly queuedBytes: number;
  /** Drops everything queued; later pushes are ignored (returns 'overflow'). Idempotent. */
  close(): void;
}

interface Entry<M> {
  m: OutMessage<M>;
  bytes: number;
}

export function createSendQueue<M = unknown>(opts: SendQueueOptions<M>): SendQueue<M> {
  if (!(opts.maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be > 0, got ${opts.maxBufferedBytes}`);
  if (!Number.isInteger(opts.maxQueued) || opts.maxQueued < 0) throw new RangeError(`maxQueued must be an integer >= 0, got ${opts.maxQueued}`);
  // insertion-ordered; keyed entries are found by key, unkeyed ones get a private key
  const queue = new Map<string, Entry<M>>();
  let unkeyed = 0;
  let seq = 0;
  let buffered = 0;
  let queuedBytes = 0;
  let closed = false;

  const write = (e: Entry<M>) => {
    buffered += e.bytes;
    opts.onWrite?.(e.m);
    opts.transport.write(e.m.data, () => {
      buffered -= e.bytes;
      drain();
    });
  };
  const drain = () => {
    for (const [k, e] of queue) {
      if (closed || buffered >= opts.maxBufferedBytes) return;
      queue.delete(k);
      queuedBytes -= e.bytes;
      if (e.m.key === undefined) unkeyed--;
      write(e);
    }
  };
  return {
    push(m) {
      if (closed) return 'overflow';
      const e = { m, bytes: Buffer.byteLength(m.data) };
      if (queue.size === 0 && buffered < opts.maxBufferedBytes) {
        write(e);
        return 'sent';
      }
      if (m.key !== undefined) {
        const old = queue.get(m.key);
        if (old) {
          queuedBytes += e.bytes - old.bytes;
          old.m = m;
          old.bytes = e.bytes;
          return 'coalesced';
        }
        queue.set(m.key, e);
      } else {
        if (unkeyed >= opts.maxQueued) return 'overflow';
        unkeyed++;
        queue.set(`\0${seq++}`, e);
      }
      queuedBytes += e.bytes;
      return 'queued';
    },
    get bufferedBytes() { return buffered; },
    get queued() { return queue.size; },
    get queuedBytes() { return queuedBytes; },
    close() {
      closed = true;
      queue.clear();
      unkeyed = 0;
      queuedBytes = 0;
    },
  };
}
