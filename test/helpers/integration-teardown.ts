import { randomBytes } from 'node:crypto';
import { createKafka } from '../../streams/index.js';
import { testConfig } from './config.js';

/**
 * Vitest global setup of the integration project. Every test topic is named `test-<run>-<id>.…`
 * (`testPrefix()` in services.ts), where `<run>` is this run's tag, set here and inherited by the test
 * workers; after the run, the topics of this run are deleted. Left behind, they pile up run after run, and
 * a broker with tens of thousands of partitions takes minutes to start. Only this run's: another run on the
 * same stack (a developer's targeted test beside a full run) keeps its topics.
 */
export default function setup(): () => Promise<void> {
  const run = randomBytes(3).toString('hex');
  process.env.BUDDIES_TEST_RUN = run;
  return async () => {
    const cfg = testConfig();
    const admin = createKafka({ brokers: cfg.kafka.brokers, clientId: 'buddies-test-teardown' }).admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`test-${run}-`));
      for (let i = 0; i < mine.length; i += 500) await admin.deleteTopics({ topics: mine.slice(i, i + 500), timeout: 120_000 });
      if (mine.length > 0) process.stdout.write(`integration teardown: deleted this run's ${mine.length} test topics\n`);
    } catch (err) {
      // the stack may have been stopped on purpose; a teardown must not turn a passing run into a failing one
      process.stdout.write(`integration teardown: test topics not deleted (${err instanceof Error ? err.message : String(err)})\n`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
}
