import { describe, expect, it } from 'vitest';
import { connectStreams, createCountingTopology, createKafka, createStreamsApp, ensureTopics } from '../../streams/index.js';
import { testConfig } from '../helpers/config.js';
import { testPrefix } from '../helpers/services.js';

// Issue 8: inputs read together must be co-partitioned; `topics ensure` and the app both say so when they are not
describe('co-partitioning', () => {
  it('is reported by ensureTopics and refused by a stream app when listens and feedback differ', async () => {
    const cfg = testConfig();
    const prefix = testPrefix();
    const { kafka, serde, topics } = await connectStreams(cfg, { role: 'copart', prefix, keys: ['listens', 'feedback', 'interactionWindows'] });
    const admin = createKafka({ brokers: cfg.kafka.brokers, clientId: 'copart' }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.name('listens'), numPartitions: 6 }, { topic: topics.name('feedback'), numPartitions: 3 }] });
      const res = await ensureTopics(kafka, topics, ['listens', 'feedback', 'interactionWindows', 'deadLetters']);
      expect(res.notCoPartitioned).toEqual([`${topics.name('listens')} has 6, ${topics.name('feedback')} has 3`]);
      const app = createStreamsApp({ kafka, serde, topology: createCountingTopology({ applicationId: `${prefix}count` }) });
      await expect(app.start()).rejects.toThrow(/not co-partitioned: .*listens.v1 has 6, .*feedback.v1 has 3/);
      await app.stop();
    } finally {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics({ topics: mine });
      await admin.disconnect();
    }
  });
});
