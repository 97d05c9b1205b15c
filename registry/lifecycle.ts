import type { Kafka } from 'kafkajs';
import { createIdempotentProducer, type AvroSerde, type ModelAnnouncement } from '../streams/index.js';
import { latestAnnouncements } from './announcements.js';
import { MODEL_NAMES, ModelArtifactError, RegistryError, type RegistryKind } from './artifacts.js';
import { announcementOf, type ModelRegistry, type ModelVersion } from './registry.js';

/**
 * The model lifecycle on top of the registry: canary, promote and rollback. What is served is what the
 * model-announcement topic says (compacted, keyed by model name):
 *
 * - `bpr`: the version in production (as {@link ModelRegistry.announce} writes it);
 * - `bpr@canary`: the version in canary, with its share of users and start time in the announcement's
 *   `metrics` map ({@link CANARY_SHARE_METRIC}, {@link CANARY_STARTED_METRIC}); a tombstone on the key ends
 *   the canary (promoted or rolled back). The schema is unchanged: old readers that know only `bpr` never
 *   look at another key's value as theirs, and a compacted topic keeps the latest of each key.
 *
 * Every step writes the announcement first and the registry status after: a crash in between leaves the
 * topic (what is served) ahead of registry.json, and running the same step again brings the status along.
 */

/** The announcement key (and `modelName`) of a kind's canary. */
export function canaryModelName(kind: RegistryKind): string {
  return `${MODEL_NAMES[kind]}${CANARY_SUFFIX}`;
}

export const CANARY_SUFFIX = '@canary';
/** Metric entry of a canary announcement: the share of users it serves, in (0, 1). */
export const CANARY_SHARE_METRIC = 'canary.share';
/** Metric entry of a canary announcement: when the canary started, epoch ms (kept when the share changes). */
export const CANARY_STARTED_METRIC = 'canary.startedAt';

/** Kinds that can run as a canary: BPR only (a canary of track embeddings would need a second taste space per user). */
export const CANARY_KINDS: readonly RegistryKind[] = ['BPR'];

/** What a canary announcement says beyond the version. */
export interface CanaryInfo {
  readonly version: string;
  /** Share of users served by the canary, in (0, 1). */
  readonly share: number;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly announcement: ModelAnnouncement;
}

/** The canary carried by an announcement on a canary key, or undefined when it is not one. */
export function canaryOf(a: ModelAnnouncement | undefined): CanaryInfo | undefined {
  if (!a || !a.modelName.endsWith(CANARY_SUFFIX)) return undefined;
  const share = a.metrics[CANARY_SHARE_METRIC];
  const startedAt = a.metrics[CANARY_STARTED_METRIC];
  if (share === undefined || !(share > 0 && share < 1)) return undefined;
  return { version: a.modelVersion, share, startedAt: startedAt ?? a.trainedAt, announcement: a };
}

/** True for an announcement key of a canary (`bpr@canary`). */
export const isCanaryKey = (key: string): boolean => key.endsWith(CANARY_SUFFIX);

/** A record for the announcements topic: an announcement, or a tombstone (null) that removes the key. */
export interface AnnouncementRecord {
  readonly key: string;
  readonly value: ModelAnnouncement | null;
}

/**
 * The model-announcement topic as the lifecycle uses it: the latest record per key, and writes. `write`
 * sends its records in order in one request (one partition), so a promotion and the end of its canary land
 * together.
 */
export interface AnnouncementLog {
  latest(): Promise<Map<string, ModelAnnouncement>>;
  write(records: readonly AnnouncementRecord[]): Promise<void>;
}

/** The announcements topic of `serde.topics` on a real Kafka: an idempotent producer per write (acks all). */
export function createAnnouncementLog(o: { readonly kafka: Kafka; readonly serde: AvroSerde }): AnnouncementLog {
  return {
    latest: () => latestAnnouncements(o.kafka, o.serde),
    async write(records) {
      if (records.length === 0) return;
      const messages = await Promise.all(records.map(async (r) => ({ key: r.key, value: r.value === null ? null : await o.serde.encode('modelAnnouncements', r.value) })));
      const producer = createIdempotentProducer(o.kafka);
      await producer.connect();
      try {
        await producer.send({ topic: o.serde.topics.name('modelAnnouncements'), acks: -1, messages });
      } finally {
        await producer.disconnect();
      }
    },
  };
}

export interface LifecycleDeps {
  readonly registry: ModelRegistry;
  readonly announcements: AnnouncementLog;
  /** Epoch ms (tests). */
  readonly now?: () => number;
}

async function required(registry: ModelRegistry, kind: RegistryKind, version: string): Promise<ModelVersion> {
  const v = await registry.get(kind, version);
  if (!v) throw new RegistryError(`no ${MODEL_NAMES[kind]} version ${version} in the model registry ${registry.dir}`);
  const check = await registry.verify(kind, version);
  if (!check.ok) throw new ModelArtifactError(`model artifact ${v.uri}: ${check.problems.join('; ')}: not announced`);
  return v;
}

/**
 * The canary of `kind` now: the announced one (what is served) or, when the topic holds none, a version the
 * registry still marks canary (a crash after its end was announced).
 */
export async function currentCanary(deps: LifecycleDeps, kind: RegistryKind): Promise<{ announced?: CanaryInfo; marked?: ModelVersion }> {
  const announced = canaryOf((await deps.announcements.latest()).get(canaryModelName(kind)));
  const marked = (await deps.registry.list(kind)).find((v) => v.status === 'canary');
  return { ...(announced ? { announced } : {}), ...(marked ? { marked } : {}) };
}

/**
 * Puts `version` (a candidate, or the canary itself to change its share) in canary for `share` of the users:
 * announces it on `<model>@canary` and marks it `canary`. Needs a version in production to compare with, and
 * no other canary of the kind. Throws {@link RegistryError} with what to do otherwise.
 */
export async function startCanary(deps: LifecycleDeps, kind: RegistryKind, version: string, share: number): Promise<CanaryInfo> {
  const name = MODEL_NAMES[kind];
  if (!CANARY_KINDS.includes(kind)) throw new RegistryError(`only ${CANARY_KINDS.map((k) => MODEL_NAMES[k]).join(', ')} models can run as a canary, not ${name}`);
  if (!(share > 0 && share < 1)) throw new RegistryError(`a canary share is between 0 and 1 (exclusive), got ${share}`);
  const v = await required(deps.registry, kind, version);
  const { announced, marked } = await currentCanary(deps, kind);
  const other = announced && announced.version !== version ? announced.version : marked && marked.version !== version ? marked.version : undefined;
  if (other !== undefined) throw new RegistryError(`${name} ${other} is in canary: promote it or roll it back first (buddies models promote|rollback)`);
  if (v.status !== 'candidate' && v.status !== 'canary') throw new RegistryError(`${name} ${version} is ${v.status}: only a candidate can start a canary`);
  const production = await deps.registry.production(kind);
  if (!production) throw new RegistryError(`no ${name} in production to compare a canary with: promote a version first (buddies models promote VERSION)`);
  const startedAt = announced?.version === version ? announced.startedAt : (deps.now ?? Date.now)();
  const base = announcementOf(v);
  const announcement: ModelAnnouncement = {
    ...base, modelName: canaryModelName(kind), metrics: { ...base.metrics, [CANARY_SHARE_METRIC]: share, [CANARY_STARTED_METRIC]: startedAt },
  };
  await deps.announcements.write([{ key: announcement.modelName, value: announcement }]);
  await deps.registry.setStatus(kind, version, 'canary');
  return { version, share, startedAt, announcement };
}

export interface PromoteResult {
  readonly promoted: ModelVersion;
  /** The version that was in production before, if another. */
  readonly replaced?: string;
  /** True when the promoted version was the canary (its canary ended). */
  readonly fromCanary: boolean;
}

/**
 * Puts `version` (default: the canary of the kind) in production: announces it under the model name and, when
 * it was the canary, ends the canary (a tombstone on `<model>@canary`) in the same request; then marks it
 * production and the previous one retired. Promoting another version while a canary runs is refused (the
 * canary would be compared with a production it was not started against).
 */
export async function promote(deps: LifecycleDeps, kind: RegistryKind, version?: string): Promise<PromoteResult> {
  const name = MODEL_NAMES[kind];
  const { announced, marked } = await currentCanary(deps, kind);
  const canary = announced?.version ?? marked?.version;
  const target = version ?? canary;
  if (target === undefined) throw new RegistryError(`no ${name} canary to promote: give the VERSION to promote (buddies models list)`);
  if (canary !== undefined && canary !== target) throw new RegistryError(`${name} ${canary} is in canary: promote it or roll it back first`);
  const v = await required(deps.registry, kind, target);
  if (v.status === 'production' && canary === undefined) {
    // already served: announce it again (a crash may have lost the record's effect on a reader), no status change
    await deps.announcements.write([{ key: name, value: announcementOf(v) }]);
    return { promoted: v, fromCanary: false };
  }
  const before = await deps.registry.production(kind);
  const records: AnnouncementRecord[] = [{ key: name, value: announcementOf(v) }];
  if (announced) records.push({ key: canaryModelName(kind), value: null });
  await deps.announcements.write(records);
  const promoted = await deps.registry.markProduction(kind, target);
  return { promoted, ...(before && before.version !== target ? { replaced: before.version } : {}), fromCanary: canary === target };
}

export interface RollbackResult {
  /** `canary`: a canary was ended; `production`: production went back to an earlier version. */
  readonly what: 'canary' | 'production';
  /** The version taken out of service (now retired). */
  readonly from: string;
  /** The version serving its users now. */
  readonly to: string | undefined;
}

/** The version that was in production before the current one: the retired one that left production last. */
async function previousProduction(registry: ModelRegistry, kind: RegistryKind, current: string | undefined): Promise<ModelVersion | undefined> {
  const retiredAt = (v: ModelVersion): string => {
    const h = v.statusHistory;
    for (let i = h.length - 1; i > 0; i--) if (h[i]!.status === 'retired' && h[i - 1]!.status === 'production') return h[i]!.at;
    return '';
  };
  return (await registry.list(kind))
    .filter((v) => v.version !== current && v.status === 'retired' && retiredAt(v) !== '')
    .sort((a, b) => (retiredAt(a) < retiredAt(b) ? 1 : -1))[0];
}

/**
 * Rolls back `kind`: when a canary runs, ends it (a tombstone on `<model>@canary`; everyone is served by
 * production again) and retires the canary version; otherwise puts back the version that was in production
 * before the current one (announced, marked production; the current one retired). Throws
 * {@link RegistryError} when there is nothing to roll back to.
 */
export async function rollback(deps: LifecycleDeps, kind: RegistryKind): Promise<RollbackResult> {
  const name = MODEL_NAMES[kind];
  const { announced, marked } = await currentCanary(deps, kind);
  const production = await deps.registry.production(kind);
  if (announced || marked) {
    const version = (announced?.version ?? marked?.version)!;
    if (announced) await deps.announcements.write([{ key: canaryModelName(kind), value: null }]);
    const v = await deps.registry.get(kind, version);
    if (v && v.status === 'canary') await deps.registry.setStatus(kind, version, 'retired');
    return { what: 'canary', from: version, to: production?.version };
  }
  if (!production) throw new RegistryError(`no ${name} in production: nothing to roll back`);
  const previous = await previousProduction(deps.registry, kind, production.version);
  if (!previous) throw new RegistryError(`${name} ${production.version} is the first version in production: there is no earlier one to roll back to`);
  await required(deps.registry, kind, previous.version);
  await deps.announcements.write([{ key: name, value: announcementOf(previous) }]);
  await deps.registry.markProduction(kind, previous.version);
  return { what: 'production', from: production.version, to: previous.version };
}
