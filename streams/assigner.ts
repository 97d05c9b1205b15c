import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const CO_PARTITIONED_ASSIGNER = 'BuddiesCoPartitioned';

/**
 * A partition assigner that keeps partition p of every subscribed topic on one member: the inputs of a task
 * (listens and feedback of one user, say) must meet in one process with one copy of its state. kafkajs's
 * round-robin assigner spreads topic-partitions independently and would split them.
 *
 * Partition numbers go to the members sorted by id, round-robin. Every subscribed topic must have the same
 * partition count (`buddies topics ensure` checks the inputs are co-partitioned); a mismatch fails the join.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED_ASSIGNER,
  version: 0,
  async assign({ members, topics }) {
    const counts = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
    const distinct = new Set(counts.values());
    if (distinct.size > 1) {
      throw new Error(`inputs are not co-partitioned: ${[...counts].map(([t, n]) => `${t} has ${n}`).join(', ')}`);
    }
    const partitions = distinct.values().next().value ?? 0;
    const ids = members.map((m) => m.memberId).sort();
    const assignment = new Map(ids.map((id) => [id, Object.fromEntries(topics.map((t) => [t, [] as number[]]))]));
    for (let p = 0; p < partitions; p++) {
      const mine = assignment.get(ids[p % ids.length]!)!;
      for (const t of topics) mine[t]!.push(p);
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: assignment.get(memberId)!, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITIONED_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
