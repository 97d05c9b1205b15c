import type { Kafka } from 'kafkajs';
import { groupLag, readTopicSnapshot, type SnapshotMessage } from '../../streams/index.js';

export type ReadMessage = SnapshotMessage;

/** Reads a topic to the end offsets it has now (read_committed unless told otherwise). */
export const readTopicToEnd = readTopicSnapshot;

/** Polls `condition` until true; throws with `what` after `timeoutMs`. For waiting on effects, never a bare sleep. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when group `groupId` has committed the end offset of every partition of `topic`. */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  return (await groupLag(kafka, groupId, topic)) === 0n;
}
