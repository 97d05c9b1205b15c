import { setTimeout as delay } from 'node:timers/promises';
import kafkajs, { type AclEntry, type Kafka } from 'kafkajs';
import { TOPIC_KEYS, type TopicKey, type TopicNames } from '../streams/index.js';

// kafkajs is CommonJS and these enums are not among the named exports Node can detect
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclOperationTypes = kafkajs.AclOperationTypes;
type AclResourceTypes = kafkajs.AclResourceTypes;
type ResourcePatternTypes = kafkajs.ResourcePatternTypes;

/** The SCRAM users of the secure stack, one per service (docs/security.md). */
export const SERVICE_USERS = ['processors', 'trainer', 'gateway', 'importer', 'simulator'] as const;
export type ServiceUser = (typeof SERVICE_USERS)[number];

/** The super user of the secure stack: topic creation and ACLs only, never a service. */
export const KAFKA_ADMIN_USER = 'admin';

/**
 * What one service may do. Topic keys are the map's (streams/topics.ts) under the configured prefix; the other
 * entries are name prefixes (PREFIXED ACLs), with the default group prefixes of the commands (`buddies start` and
 * `buddies trainer`: `buddies`; `buddies gateway`: `buddies-gateway`).
 */
export interface ServiceAccess {
  /** Topics it consumes (READ, DESCRIBE). */
  readonly reads: readonly TopicKey[];
  /** Topics it produces to (WRITE, DESCRIBE; idempotent producers need nothing more since Kafka 3.0, KIP-679). */
  readonly writes: readonly TopicKey[];
  /** Consumer groups it may join and commit in (prefixes). */
  readonly groups: readonly string[];
  /** Transactional ids of its exactly-once producers (prefixes). */
  readonly transactionalIds: readonly string[];
  /** Topics it owns outright: its state stores' changelogs, which it creates (prefixes, after the topic prefix). */
  readonly ownTopics: readonly string[];
}

/** Snapshot readers (`readTopicSnapshot`) join a throw-away group `snapshot-<random>`. */
const SNAPSHOT_GROUPS = 'snapshot-';

/**
 * Who reads and writes what, from what each command does (cli/start.ts and processors/apps.ts, cli/trainer.ts,
 * cli/gateway.ts, cli/import.ts, cli/simulate.ts). The table in docs/security.md is this one; a unit test
 * keeps them equal.
 */
export const SERVICE_ACCESS: { readonly [U in ServiceUser]: ServiceAccess } = {
  processors: {
    // the recommender (listens, feedback; global tables of playlists, tastes and model announcements), the windows
    // app, and the warehouse sink (listens, feedback, playlists, recommendations into ClickHouse)
    reads: ['listens', 'feedback', 'playlists', 'tasteEmbeddings', 'modelAnnouncements', 'recommendations'],
    // lists, tastes, pairings, windows, dead letters; the first start announces the track embeddings it trains
    writes: ['recommendations', 'tasteEmbeddings', 'pairings', 'interactionWindows', 'deadLetters', 'modelAnnouncements'],
    groups: ['buddies.recommender.', 'buddies.windows', 'buddies.warehouse.', SNAPSHOT_GROUPS],
    transactionalIds: ['buddies.recommender.', 'buddies.windows', 'buddies.warehouse.'],
    ownTopics: ['buddies.recommender.', 'buddies.windows', 'buddies.warehouse.'],
  },
  trainer: {
    reads: ['interactionWindows', 'modelAnnouncements'],
    writes: ['modelAnnouncements'],
    groups: ['buddies.trainer', SNAPSHOT_GROUPS],
    transactionalIds: [],
    ownTopics: [],
  },
  gateway: {
    reads: ['recommendations'],
    writes: ['listens', 'feedback'],
    groups: ['buddies-gateway'],
    transactionalIds: [],
    ownTopics: [],
  },
  importer: {
    reads: [],
    writes: ['playlists', 'listens', 'feedback'],
    groups: [],
    transactionalIds: [],
    ownTopics: [],
  },
  simulator: {
    // simulated users read their lists, and the playlists they may curate
    reads: ['recommendations', 'playlists'],
    writes: ['listens', 'feedback', 'playlists'],
    groups: ['simulate-', SNAPSHOT_GROUPS],
    transactionalIds: [],
    ownTopics: [],
  },
};

function allow(principal: string, resourceType: AclResourceTypes, resourceName: string, pattern: ResourcePatternTypes, operation: AclOperationTypes): AclEntry {
  return { resourceType, resourceName, resourcePatternType: pattern, principal, host: '*', operation, permissionType: AclPermissionTypes.ALLOW };
}

/** The ACL bindings of one service on topics named by `topics` (its prefix included). Pure. */
export function serviceAcls(user: ServiceUser, topics: TopicNames, access: ServiceAccess = SERVICE_ACCESS[user]): AclEntry[] {
  const who = `User:${user}`;
  const out: AclEntry[] = [];
  const { TOPIC, GROUP, TRANSACTIONAL_ID } = AclResourceTypes;
  const { LITERAL, PREFIXED } = ResourcePatternTypes;
  const O = AclOperationTypes;
  for (const k of TOPIC_KEYS) {
    const ops = new Set<AclOperationTypes>();
    if (access.reads.includes(k)) ops.add(O.READ).add(O.DESCRIBE);
    if (access.writes.includes(k)) ops.add(O.WRITE).add(O.DESCRIBE);
    for (const op of ops) out.push(allow(who, TOPIC, topics.name(k), LITERAL, op));
  }
  for (const t of access.ownTopics) {
    for (const op of [O.CREATE, O.READ, O.WRITE, O.DESCRIBE, O.DESCRIBE_CONFIGS]) out.push(allow(who, TOPIC, `${topics.prefix}${t}`, PREFIXED, op));
  }
  for (const g of access.groups) for (const op of [O.READ, O.DESCRIBE]) out.push(allow(who, GROUP, g, PREFIXED, op));
  for (const t of access.transactionalIds) for (const op of [O.WRITE, O.DESCRIBE]) out.push(allow(who, TRANSACTIONAL_ID, t, PREFIXED, op));
  return out;
}

/**
 * Creates every service's ACLs on `topics` (idempotent: the broker keeps one copy of a binding). `admin` must be
 * a client of the super user.
 */
export async function applyServiceAcls(admin: Kafka, topics: TopicNames): Promise<number> {
  const acl = SERVICE_USERS.flatMap((u) => serviceAcls(u, topics));
  const client = admin.admin();
  await client.connect();
  try {
    await client.createAcls({ acl });
    // The controller answers once the bindings are committed; the broker's authorizer applies them from the metadata
    // log a moment later. Wait until it lists them all, so a service started next is not refused meanwhile.
    const key = (e: { resourceType: number; resourceName: string; resourcePatternType: number; principal: string; operation: number }) => `${e.resourceType}|${e.resourceName}|${e.resourcePatternType}|${e.principal}|${e.operation}`;
    const want = new Set(acl.map(key));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await client.describeAcls({
        resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      } as Parameters<typeof client.describeAcls>[0]);
      const have = new Set(res.resources.flatMap((r) => r.acls.map((a) => key({ ...r, ...a }))));
      if ([...want].every((k) => have.has(k))) break;
      if (Date.now() > deadline) throw new Error(`the broker did not apply ${want.size} ACL bindings within 15 s`);
      await delay(100);
    }
  } finally {
    await client.disconnect();
  }
  return acl.length;
}
