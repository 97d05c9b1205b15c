// Consistency of the rendered Kubernetes manifests with the code: topic names and partitions (streams/topics.ts),
// environment variables (config/config.ts, the only reader of process.env), the commands the containers run
// (cli/commands.ts), the ports and probe paths the processes serve, the metric names alert rules use, and the
// security settings every Buddies container must have. Pure functions over parsed manifests plus facts read from the
// source; scripts/k8s-validate.ts runs them on every overlay and test/k8s/ tests them.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../config/config.js';
import { recommenderApplicationId, RECOMMEND_STRATEGIES, SINK_TOPICS } from '../processors/index.js';
import { TOPIC_KEYS, TOPICS } from '../streams/topics.js';

// js-yaml is in node_modules (a dependency of the linter); no YAML parser is a dependency of the app itself.
const yaml = createRequire(import.meta.url)('js-yaml') as { loadAll(text: string): unknown[] };

/** One Kubernetes object, as far as the checks look into it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export function parseManifests(text: string): Manifest[] {
  return yaml.loadAll(text).filter((d): d is Manifest => typeof d === 'object' && d !== null && 'kind' in d);
}

/** What the code declares and reads, gathered from the source tree at `root`. */
export interface CodeFacts {
  /** Topic name → partitions. */
  readonly topics: ReadonlyMap<string, number>;
  /** Environment variables config/config.ts reads. */
  readonly envVars: ReadonlySet<string>;
  /** Top-level commands of the CLI. */
  readonly commands: ReadonlySet<string>;
  /** Paths the health server of stream processes, the trainer and the lifecycle serve. */
  readonly processPaths: ReadonlySet<string>;
  /** Paths the gateway serves (besides its API and dashboard). */
  readonly gatewayPaths: ReadonlySet<string>;
  /** Metric names the code registers. */
  readonly metrics: ReadonlySet<string>;
  readonly defaults: { readonly gatewayPort: number };
  /** Consumer groups of the stream processes (group prefix buddies) → the topics each reads. */
  readonly consumerGroups: ReadonlyMap<string, readonly string[]>;
}

/** The processors' application ids (= consumer groups) under the default group prefix, as processors/apps.ts names them. */
function consumerGroups(prefix = 'buddies'): Map<string, string[]> {
  const both = [TOPICS.listens.name, TOPICS.feedback.name];
  return new Map<string, string[]>([
    ...SINK_TOPICS.map((k) => [`${prefix}.warehouse.${k}`, [TOPICS[k].name]] as [string, string[]]),
    ...RECOMMEND_STRATEGIES.map((st) => [recommenderApplicationId(prefix, st), both] as [string, string[]]),
    [`${prefix}.windows`, both],
  ]);
}

function read(root: string, file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

function matches(text: string, re: RegExp): string[] {
  return [...text.matchAll(re)].map((m) => m[1]!);
}

/** Folders of the code that runs in the cluster, where metrics are registered. */
const METRIC_DIRS = ['streams', 'processors', 'gateway', 'trainer', 'lifecycle', 'warehouse', 'registry', 'cli'];

export function readCodeFacts(root: string): CodeFacts {
  const config = read(root, 'config/config.ts');
  // The variables config.ts documents (CONFIG_VARIABLES, the README's table) and any it reads as env.NAME.
  const envVars = new Set([...CONFIG_VARIABLES.map(([name]) => name), ...matches(config, /env\.([A-Z][A-Z0-9_]+)/g)]);
  const commands = new Set(matches(read(root, 'cli/commands.ts'), /\['([a-z-]+)', async/g));
  const pathsOf = (file: string) => new Set(matches(read(root, file), /path === '(\/[a-z]+)'/g));
  // Every process but the gateway (stream processes, trainer, Top Picks, lifecycle) serves streams/metrics.ts's probes.
  const processPaths = pathsOf('streams/metrics.ts');
  const metrics = new Set<string>();
  for (const dir of METRIC_DIRS) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      for (const m of matches(read(root, join(dir, file)), /'(buddies_[a-z0-9_]+)'/g)) metrics.add(m); // name: '…' or a table of names
    }
  }
  const gatewayPort = Number(/port\(env, 'BUDDIES_GATEWAY_PORT', (\d+)/.exec(config)?.[1] ?? '8080');
  return {
    topics: new Map(TOPIC_KEYS.map((k) => [TOPICS[k].name, TOPICS[k].partitions])),
    envVars, commands, processPaths, gatewayPaths: pathsOf('gateway/server.ts'), metrics, defaults: { gatewayPort }, consumerGroups: consumerGroups(),
  };
}

interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] } };
}
interface Probe { httpGet?: { path?: string; port?: number | string } }
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean };
  volumes?: Array<{ name: string; secret?: { secretName?: string } }>;
}

/** The pod spec of a workload kind, or undefined for other kinds. */
function podSpecOf(m: Manifest): PodSpec | undefined {
  const spec = m.spec as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!spec) return undefined;
  if (m.kind === 'Deployment' || m.kind === 'StatefulSet' || m.kind === 'Job') return spec.template?.spec;
  if (m.kind === 'CronJob') return spec.jobTemplate?.spec?.template?.spec;
  return undefined;
}

/** True for containers running the Buddies image (the CLI): the others are Kafka's, the registry's, ClickHouse's. */
function runsBuddies(c: Container): boolean {
  return /(^|\/)buddies[^/]*(:|@|$)/.test(c.image ?? '');
}

/**
 * Problems of one rendered overlay, as lines `kind/name: what is wrong` (empty: consistent). Checks:
 * topics, ACLs and scalers against the topic map; env, commands, ports and probes of Buddies containers against the
 * code; the security and resource settings of every container; alert expressions against registered metrics.
 */
export function checkManifests(docs: readonly Manifest[], facts: CodeFacts): string[] {
  const problems: string[] = [];
  const at = (m: Manifest, what: string) => problems.push(`${m.kind}/${m.metadata.name}: ${what}`);
  const kafkaUsers = new Set(docs.filter((d) => d.kind === 'KafkaUser').map((d) => d.metadata.name));
  const configMaps = new Map(docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data ?? {}]));

  // Topics: every topic of the map is a KafkaTopic with its partitions; no KafkaTopic the code does not know of
  // (besides the registry's journal).
  const kafkaTopics = new Map<string, Manifest>();
  for (const d of docs.filter((x) => x.kind === 'KafkaTopic')) kafkaTopics.set(String(d.spec?.topicName ?? d.metadata.name), d);
  for (const [name, partitions] of facts.topics) {
    const t = kafkaTopics.get(name);
    if (!t) problems.push(`KafkaTopic/${name}: missing (the code declares it in streams/topics.ts)`);
    else if (t.spec?.partitions !== partitions) at(t, `partitions ${String(t.spec?.partitions)}, the code declares ${partitions}`);
  }
  for (const [name, t] of kafkaTopics) if (!facts.topics.has(name) && !name.startsWith('kafkasql-')) at(t, `topic ${name} is not in streams/topics.ts`);

  // ACLs name existing topics.
  for (const u of docs.filter((x) => x.kind === 'KafkaUser')) {
    const acls = ((u.spec?.authorization as { acls?: Array<{ resource: { type: string; name?: string; patternType?: string } }> } | undefined)?.acls) ?? [];
    for (const a of acls) {
      const r = a.resource;
      if (r.type === 'topic' && (r.patternType ?? 'literal') === 'literal' && !facts.topics.has(r.name ?? '') && !(r.name ?? '').startsWith('kafkasql-')) {
        at(u, `ACL on topic ${r.name}, which the code does not declare`);
      }
    }
  }

  // KEDA: triggers on known topics, replicas capped at the partitions of each trigger topic.
  for (const s of docs.filter((x) => x.kind === 'ScaledObject')) {
    const triggers = (s.spec?.triggers as Array<{ type: string; metadata?: Record<string, string> }> | undefined) ?? [];
    const max = Number(s.spec?.maxReplicaCount ?? 100);
    for (const t of triggers.filter((x) => x.type === 'kafka')) {
      const topic = t.metadata?.topic ?? '';
      const group = t.metadata?.consumerGroup ?? '';
      const reads = facts.consumerGroups.get(group);
      if (!reads) at(s, `trigger on consumer group ${group}, which no processor uses (${[...facts.consumerGroups.keys()].join(', ')})`);
      else if (!reads.includes(topic)) at(s, `consumer group ${group} does not read ${topic}`);
      const partitions = facts.topics.get(topic);
      if (partitions === undefined) at(s, `trigger on topic ${topic}, which the code does not declare`);
      else if (max > partitions) at(s, `maxReplicaCount ${max} is above the ${partitions} partitions of ${topic}`);
    }
  }

  // Containers.
  for (const m of docs) {
    const pod = podSpecOf(m);
    if (!pod) continue;
    const longRunning = m.kind === 'Deployment' || m.kind === 'StatefulSet';
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const where = `container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) at(m, `${where}: allowPrivilegeEscalation must be false`);
      if (sc.readOnlyRootFilesystem !== true) at(m, `${where}: readOnlyRootFilesystem must be true`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) at(m, `${where}: must drop ALL capabilities`);
      if (sc.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) at(m, `${where}: must run as non-root`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory']) if (c.resources?.[kind]?.[r] === undefined) at(m, `${where}: no ${r} ${kind}`);
      }
      for (const e of c.env ?? []) {
        if (/PASSWORD$|SECRET$|JAAS/.test(e.name) && e.value !== undefined) at(m, `${where}: ${e.name} has a literal value: credentials come from Secrets`);
      }
      if (longRunning && (!c.livenessProbe || !c.readinessProbe || !c.startupProbe)) at(m, `${where}: needs liveness, readiness and startup probes`);
      if (!runsBuddies(c)) continue;

      // The environment: what the container sets and what its ConfigMaps bring must be variables the code reads.
      const env = new Map<string, string | undefined>();
      for (const from of c.envFrom ?? []) {
        if (from.secretRef) at(m, `${where}: envFrom a Secret (mount credentials as files, *_FILE, instead)`);
        const data = from.configMapRef ? configMaps.get(from.configMapRef.name) : undefined;
        if (from.configMapRef && !data) at(m, `${where}: ConfigMap ${from.configMapRef.name} is not in the manifests`);
        for (const [k, v] of Object.entries(data ?? {})) env.set(k, v);
      }
      for (const e of c.env ?? []) env.set(e.name, e.value);
      const args = [...(c.command ?? []), ...(c.args ?? [])];
      const expanded = new Set(args.flatMap((a) => matches(a, /\$\(([A-Z0-9_]+)\)/g)));
      for (const name of env.keys()) {
        if (!facts.envVars.has(name) && !expanded.has(name)) at(m, `${where}: environment variable ${name} is not read by config/config.ts`);
      }
      // Kafka: its own KafkaUser, and the password of that user.
      const user = env.get('KAFKA_SASL_USERNAME');
      if (user !== undefined) {
        if (!kafkaUsers.has(user)) at(m, `${where}: KAFKA_SASL_USERNAME=${user} is not a KafkaUser of the manifests`);
        const mounted = (pod.volumes ?? []).find((v) => v.name === 'kafka-user')?.secret?.secretName;
        if (mounted !== undefined && mounted !== user) at(m, `${where}: mounts the password of ${mounted} but signs in as ${user}`);
      }
      const command = args[0];
      if (command === undefined || !facts.commands.has(command)) at(m, `${where}: runs '${args.join(' ')}', not a buddies command`);

      // Ports and probes: the gateway serves on BUDDIES_GATEWAY_PORT, every other process on BUDDIES_METRICS_PORT.
      const gateway = command === 'gateway';
      const served = gateway ? facts.gatewayPaths : facts.processPaths;
      const portVar = gateway ? 'BUDDIES_GATEWAY_PORT' : 'BUDDIES_METRICS_PORT';
      const raw = env.get(portVar);
      const port = raw !== undefined ? Number(raw) : gateway ? facts.defaults.gatewayPort : 0;
      for (const p of c.ports ?? []) {
        if (p.containerPort !== port) at(m, `${where}: containerPort ${p.containerPort} (${p.name ?? '-'}) but the process listens on ${portVar}=${raw ?? `default ${port}`}`);
      }
      for (const [kind, probe] of [['startup', c.startupProbe], ['liveness', c.livenessProbe], ['readiness', c.readinessProbe]] as const) {
        const get = probe?.httpGet;
        if (!probe) continue;
        if (!get) { at(m, `${where}: ${kind} probe is not an HTTP check of the process's endpoints`); continue; }
        if (!served.has(get.path ?? '/')) at(m, `${where}: ${kind} probe on ${get.path ?? '/'}, which the ${gateway ? 'gateway' : 'process'} does not serve (it serves ${[...served].join(', ')})`);
        const target = typeof get.port === 'number' ? get.port : (c.ports ?? []).find((p) => p.name === get.port)?.containerPort;
        if (target !== port) at(m, `${where}: ${kind} probe on port ${String(get.port)}, not ${portVar}=${port}`);
      }
      if (longRunning && port === 0) at(m, `${where}: ${portVar} is 0 (any free port): probes and scraping need a fixed one`);
    }
  }

  // Alert rules: every buddies_* series they use is a metric the code registers.
  for (const r of docs.filter((x) => x.kind === 'PrometheusRule')) {
    const groups = (r.spec?.groups as Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> | undefined) ?? [];
    for (const rule of groups.flatMap((g) => g.rules)) {
      for (const series of matches(String(rule.expr), /\b(buddies_[a-z0-9_]+)/g)) {
        const base = series.replace(/_(bucket|sum|count)$/, '');
        if (!facts.metrics.has(series) && !facts.metrics.has(base)) at(r, `rule ${rule.alert ?? rule.record}: ${series} is not a metric the code registers`);
      }
    }
  }

  if (docs.some((d) => d.kind === 'Secret')) problems.push('Secret resources are in the manifests: credentials are created in the cluster, never committed');
  return [...new Set(problems)];
}
