/**
 * A correct read_committed filter for kafkajs consumers.
 *
 * kafkajs 2.2.4 (the last release; the project is archived) drops the records of aborted transactions in
 * `consumer/filterAbortedMessages.js`, and gets it wrong when aborted transactions of several producers overlap in a
 * partition. It takes the fetch response's aborted-transaction list as sorted by first offset, where the broker
 * lists them in the order they ended, and it takes at most one entry off that list per record. So when producer A
 * opens a transaction, producer B opens one after it and aborts first, and then A aborts too, A's records from
 * before B's first record come out as if committed (`test/integration/snapshot.int.test.ts` builds exactly that).
 * Several tasks' producers write to each output partition and a rebalance aborts their transactions at about the same
 * time, so a read_committed reader of an output topic (a downstream application, or `readTopicSnapshot`) could see
 * outputs that were never committed.
 *
 * `installReadCommittedFilter` wraps the decoding of kafkajs's Fetch responses (v4 to v11, the versions with
 * transactions) so that the aborted records are marked before kafkajs sees them, by the Java consumer's rule, and
 * the response reaches kafkajs with an empty aborted list (its own filter then does nothing). A marked record is
 * turned into a control record: kafkajs leaves control records out of what it hands to `eachBatch`/`eachMessage`
 * but counts them in a batch's last offset, so the consumer moves past them exactly as past an aborted batch that
 * kafkajs filters itself (a fetch of nothing but aborted records must still move the position on).
 */
import { createRequire } from 'node:module';

/** What the filter reads of a decoded record (kafkajs's record decoder gives more). */
export interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext?: { readonly producerId: string; readonly inTransaction: boolean };
}

/** One entry of a Fetch response's aborted-transaction list. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** A control record's key: version (int16) then type (int16): 0 abort, 1 commit. */
function isAbortMarker(record: FetchedRecord): boolean {
  const key = record.key;
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * The records of one partition of a Fetch response with those of aborted transactions turned into control records
 * (copies; the others as they are). The Java consumer's rule (`Fetcher`/`CompletedFetch`): walking the records in
 * offset order, every aborted transaction whose first offset has been reached puts its producer among the aborted
 * ones, whose transactional records are dropped until that producer's abort marker.
 */
export function hideAbortedRecords<R extends FetchedRecord>(records: readonly R[], aborted: readonly AbortedTransaction[]): R[] {
  if (aborted.length === 0) return [...records];
  const queue = aborted.map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<string>();
  let next = 0;
  return records.map((record) => {
    const offset = BigInt(record.offset);
    while (next < queue.length && queue[next]!.firstOffset <= offset) abortedProducers.add(queue[next++]!.producerId);
    const ctx = record.batchContext;
    if (!ctx?.inTransaction) return record;
    if (record.isControlRecord) {
      if (isAbortMarker(record)) abortedProducers.delete(ctx.producerId);
      return record;
    }
    return abortedProducers.has(ctx.producerId) ? { ...record, isControlRecord: true } : record;
  });
}

interface DecodedFetch {
  responses: Array<{ partitions: Array<{ abortedTransactions?: AbortedTransaction[] | null; messages: FetchedRecord[] }> }>;
}

type Decode = ((raw: Buffer) => Promise<DecodedFetch>) & { [FILTERED]?: true };

/** Fetch versions whose responses carry aborted transactions (v4 on), up to kafkajs's newest (v11). */
const TRANSACTIONAL_FETCH_VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11];
/** Marks a wrapped decode: process-wide, as kafkajs's modules are, though this module may be loaded more than once (vitest). */
const FILTERED = Symbol.for('buddies.readCommittedFilter');

/**
 * Installs the filter in this process's kafkajs (idempotent). Every Kafka client in the process shares kafkajs's
 * modules, so every read_committed consumer gets it; read_uncommitted ones get no aborted list and are untouched.
 * Throws if kafkajs's internals are not where 2.2.4 has them, rather than run with the faulty filter unnoticed.
 */
export function installReadCommittedFilter(): void {
  const require = createRequire(import.meta.url);
  for (const v of TRANSACTIONAL_FETCH_VERSIONS) {
    const mod = require(`kafkajs/src/protocol/requests/fetch/v${v}/response.js`) as { decode?: Decode };
    const decode = mod.decode;
    if (typeof decode !== 'function') throw new Error(`kafkajs Fetch v${v} response has no decode(): cannot install the read_committed filter`);
    if (decode[FILTERED]) continue;
    const filtered: Decode = async (raw) => {
      const response = await decode(raw);
      for (const topic of response.responses) {
        for (const partition of topic.partitions) {
          if (!partition.abortedTransactions?.length) continue;
          partition.messages = hideAbortedRecords(partition.messages, partition.abortedTransactions);
          partition.abortedTransactions = [];
        }
      }
      return response;
    };
    filtered[FILTERED] = true;
    mod.decode = filtered;
  }
}
