import { createKafka } from '../../streams/index.js';
import { testConfig } from './config.js';

/**
 * Vitest global setup of the integration project: after the run, deletes every topic whose name starts with
 * `test-` (each test makes its own prefix, `test-<id>.`; those of an earlier run that was killed go too). Left
 * behind, they pile up run after run, and a broker with tens of thousands of partitions takes minutes to start.
 * Integration runs share one stack and never run side by side (the outage tests stop its services).
 */
export default function setup(): () => Promise<void> {
  return async () => {
    const cfg = testConfig();
    const admin = createKafka({ brokers: cfg.kafka.brokers, clientId: 'buddies-test-teardown' }).admin();
    try {
      await admin.connect();
      const leftovers = (await admin.listTopics()).filter((t) => t.startsWith('test-'));
      for (let i = 0; i < leftovers.length; i += 500) await admin.deleteTopics({ topics: leftovers.slice(i, i + 500), timeout: 120_000 });
      if (leftovers.length > 0) process.stdout.write(`integration teardown: deleted ${leftovers.length} test topics\n`);
    } catch (err) {
      // the stack may have been stopped on purpose; a teardown must not turn a passing run into a failing one
      process.stdout.write(`integration teardown: test topics not deleted (${err instanceof Error ? err.message : String(err)})\n`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
}
