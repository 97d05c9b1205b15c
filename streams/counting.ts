import { storeSpec } from './store.js';
import type { Guarantee, Topology } from './topology.js';

/** Per user: listens and feedback events counted so far. */
export interface UserCounts {
  listens: number;
  feedback: number;
}

export const USER_COUNTS = storeSpec<UserCounts>('user-counts');

export interface CountingTopologyOptions {
  readonly applicationId: string;
  readonly guarantee?: Guarantee;
  /** Forward each user's running count to the interaction-window topic after every event (default true). */
  readonly forward?: boolean;
}

/**
 * The runtime's reference topology: counts each user's listens and feedback in a changelogged store and, after
 * each event, forwards the running count (as an interaction window over all time). Small enough to reason
 * about, so the runtime's tests and `buddies bench runtime` can check every count exactly.
 */
export function createCountingTopology(opts: CountingTopologyOptions): Topology<'listens' | 'feedback'> {
  return {
    applicationId: opts.applicationId,
    inputs: ['listens', 'feedback'],
    stores: [USER_COUNTS],
    guarantee: opts.guarantee ?? 'exactly-once',
    processor: () => ({
      process(record, ctx) {
        const counts = ctx.store(USER_COUNTS);
        const user = record.value.userId;
        const c = counts.get(user) ?? { listens: 0, feedback: 0 };
        if (record.input === 'listens') c.listens++;
        else c.feedback++;
        counts.put(user, c);
        if (opts.forward === false) return;
        ctx.forward('interactionWindows', {
          key: user,
          value: { userId: user, windowStart: 0, windowEnd: record.timestamp, interactions: [{ playlistId: '*', weight: c.listens, events: c.listens + c.feedback }] },
        });
      },
    }),
  };
}
