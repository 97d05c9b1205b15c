import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTypedProducer, type ListenEvent } from '../../streams/index.js';
import { groupCaughtUp, readTopicToEnd, waitFor } from '../helpers/kafka.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';

const CHILD = fileURLToPath(new URL('../fixtures/eos-child.ts', import.meta.url));
const N = 300;

function startChild(args: string[]): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  return { child, lines };
}

describe('exactly-once consume-transform-produce', () => {
  it('killed with SIGKILL mid-batch and restarted, it outputs each input exactly once (read_committed)', async () => {
    const bed = await createTestBed(['listens', 'feedback', 'deadLetters']);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    const inputs: ListenEvent[] = Array.from({ length: N }, (_, i) => ({ ...SAMPLES.listens.value, eventId: `e-${i}`, userId: `u-${i % 37}` }));
    await producer.send('listens', inputs.map((v) => ({ key: v.userId, value: v })));
    await producer.disconnect();
    const groupId = bed.unique('eos');

    // First run: hangs inside a transaction after 130 records (some batches committed, some outputs in flight)
    const first = startChild([bed.topics.prefix, groupId, '130']);
    await waitFor(() => first.lines.includes('BLOCKED'), 'the first runner to block mid-batch');
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    // Outputs of the killed, open transaction are in the log but not committed
    const partial = await readTopicToEnd(bed.kafka, bed.topics.name('feedback'));
    expect(partial.length).toBeLessThan(130);

    // Second run: fences the dead producer, aborts its transaction, redoes the uncommitted records
    const second = startChild([bed.topics.prefix, groupId]);
    await waitFor(() => groupCaughtUp(bed.kafka, groupId, bed.topics.name('listens')), 'the restarted runner to commit every input', 120_000, 250);
    second.child.kill('SIGTERM');
    const [code] = (await once(second.child, 'exit')) as [number | null];
    expect(code).toBe(0); // graceful shutdown on SIGTERM

    const committed = await readTopicToEnd(bed.kafka, bed.topics.name('feedback'));
    const ids = await Promise.all(committed.map(async (m) => (await bed.serde.decode('feedback', m.value as Buffer)).eventId));
    expect(ids).toHaveLength(N);
    expect(new Set(ids)).toEqual(new Set(inputs.map((v) => v.eventId)));

    // read_uncommitted shows the aborted duplicates: the kill really happened with outputs in flight
    const everything = await readTopicToEnd(bed.kafka, bed.topics.name('feedback'), { readUncommitted: true });
    expect(everything.length).toBeGreaterThan(N);
  });
});
