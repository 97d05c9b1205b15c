import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { hideAbortedRecords, installReadCommittedFilter, type AbortedTransaction, type FetchedRecord } from './read-committed.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A transactional data record of producer `pid` at `offset`. */
const data = (offset: number, pid: string): FetchedRecord => ({ offset: String(offset), key: Buffer.from('k'), isControlRecord: false, batchContext: { producerId: pid, inTransaction: true } });
const marker = (offset: number, pid: string, key: Buffer): FetchedRecord => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId: pid, inTransaction: true } });
const plain = (offset: number): FetchedRecord => ({ offset: String(offset), key: null, isControlRecord: false, batchContext: { producerId: '-1', inTransaction: false } });
const aborted = (pid: string, firstOffset: number): AbortedTransaction => ({ producerId: pid, firstOffset: String(firstOffset) });

/** The offsets of the data records a consumer is handed. */
const delivered = (records: FetchedRecord[]) => records.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));

describe('the read_committed filter', () => {
  // P1 opens a transaction, P2 opens one after it and aborts first, then P1 aborts: the broker lists P2's transaction
  // first (in the order they ended). kafkajs's filter hands out P1's record at offset 0.
  const overlapping = [data(0, 'p1'), data(1, 'p2'), marker(2, 'p2', ABORT), data(3, 'p1'), marker(4, 'p1', ABORT), data(5, 'p2'), marker(6, 'p2', COMMIT)];
  const overlappingAborted = [aborted('p2', 1), aborted('p1', 0)];

  it('drops every record of overlapping aborted transactions, whatever order the broker lists them in', () => {
    expect(delivered(hideAbortedRecords(overlapping, overlappingAborted))).toEqual([5]);
    expect(delivered(hideAbortedRecords(overlapping, [...overlappingAborted].reverse()))).toEqual([5]);
  });

  it('kafkajs 2.2.4 itself gets that case wrong (the reason the filter exists)', () => {
    const kafkajsFilter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (o: { messages: FetchedRecord[]; abortedTransactions: AbortedTransaction[] }) => FetchedRecord[];
    expect(delivered(kafkajsFilter({ messages: overlapping, abortedTransactions: overlappingAborted }))).toEqual([0, 5]);
  });

  it('handles a fetch that starts inside two open aborted transactions', () => {
    // P1's aborted transaction began at 10, P2's at 11; the fetch starts at 12, with a record of P2
    const records = [data(12, 'p2'), data(13, 'p1'), marker(14, 'p2', ABORT), marker(15, 'p1', ABORT), data(16, 'p1'), marker(17, 'p1', COMMIT)];
    expect(delivered(hideAbortedRecords(records, [aborted('p1', 10), aborted('p2', 11)]))).toEqual([16]);
  });

  it('keeps a producer\'s committed transactions around its aborted one, and records outside transactions', () => {
    const records = [data(0, 'p'), marker(1, 'p', COMMIT), plain(2), data(3, 'p'), data(4, 'p'), marker(5, 'p', ABORT), data(6, 'p'), marker(7, 'p', COMMIT), plain(8)];
    expect(delivered(hideAbortedRecords(records, [aborted('p', 3)]))).toEqual([0, 2, 6, 8]);
  });

  it('hides records by marking them as control records: kafkajs still counts them in the batch and moves past them', () => {
    const out = hideAbortedRecords([data(0, 'p'), data(1, 'p')], [aborted('p', 0)]);
    expect(out.map((r) => [r.offset, r.isControlRecord])).toEqual([['0', true], ['1', true]]);
  });

  it('installs into kafkajs\'s Fetch decoders once, however often it is called', () => {
    installReadCommittedFilter();
    const mod = createRequire(import.meta.url)('kafkajs/src/protocol/requests/fetch/v11/response.js') as { decode: unknown };
    const decode = mod.decode;
    installReadCommittedFilter();
    expect(mod.decode).toBe(decode);
  });
});
