// Issue 12: every service's configuration in the manifests matches what the code declares and reads. The overlays are
// rendered with kustomize and checked by scripts/k8s-checks.ts against the source: the KafkaTopics are the code's topic
// map (topics.yaml and service-users.yaml are what scripts/k8s-generate.ts makes of the topic map and stack/acls.ts), environment variables are ones config/config.ts
// reads, ports and probe paths are the ones the processes serve, alert rules use registered metrics. Each check is
// also shown to fail on a manifest changed to break it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../../config/config.js';
import { TOPICS } from '../../streams/topics.js';
import { checkManifests, parseManifests, readCodeFacts, type Manifest } from '../../scripts/k8s-checks.js';
import { generatedFiles, kafkaUserName } from '../../scripts/k8s-generate.js';
import { SERVICE_USERS } from '../../stack/acls.js';
import { ensureTools, OVERLAYS } from '../../scripts/k8s-validate.js';

const root = findRootDir();
const facts = readCodeFacts(root);
const rendered = new Map<string, Manifest[]>();

function render(cmd: readonly string[], dir: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile(cmd[0]!, [...cmd.slice(1), dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? fail(new Error(stderr || err.message)) : done(stdout)));
  });
}

/** A deep copy of the production overlay with `edit` applied to the object of `kind` named `name`. */
function broken(kind: string, name: string, edit: (m: any) => void): Manifest[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const docs = structuredClone(rendered.get('production')!);
  const m = docs.find((d) => d.kind === kind && d.metadata.name === name);
  expect(m, `${kind}/${name} in the production overlay`).toBeDefined();
  edit(m);
  return docs;
}

describe('manifests and code agree', () => {
  beforeAll(async () => {
    const tools = ensureTools();
    for (const o of OVERLAYS) rendered.set(o, parseManifests(await render(tools.kustomize, join(root, 'k8s/overlays', o))));
  }, 600_000);

  it('reads the facts from the code', () => {
    expect(facts.topics.get(TOPICS.listens.name)).toBe(TOPICS.listens.partitions);
    expect([...facts.processPaths].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    for (const p of ['/healthz', '/readyz', '/metrics']) expect(facts.gatewayPaths.has(p)).toBe(true);
    for (const v of ['KAFKA_BROKERS', 'BUDDIES_METRICS_PORT', 'BUDDIES_GATEWAY_PORT', 'BUDDIES_TRAINER_DIR', 'KAFKA_SASL_PASSWORD_FILE']) expect(facts.envVars.has(v), v).toBe(true);
    for (const c of ['process', 'gateway', 'trainer', 'lifecycle', 'topics', 'warehouse', 'models']) expect(facts.commands.has(c), c).toBe(true);
    expect(facts.metrics.has('buddies_streams_consumer_lag')).toBe(true);
    expect(facts.defaults.gatewayPort).toBe(8080);
  });

  it('the generated manifests are what scripts/k8s-generate.ts makes of the code now', () => {
    for (const [file, text] of generatedFiles()) expect(readFileSync(join(root, file), 'utf8'), file).toBe(text);
  });

  it('every service of stack/acls.ts has its KafkaUser, and each Buddies container signs in as an existing one', () => {
    const users = rendered.get('production')!.filter((d) => d.kind === 'KafkaUser').map((d) => d.metadata.name);
    for (const u of SERVICE_USERS) expect(users).toContain(kafkaUserName(u));
    const docs = broken('Deployment', 'windows', (m) => {
      m.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'KAFKA_SASL_USERNAME').value = 'buddies-windows';
    });
    const problems = checkManifests(docs, facts).join('\n');
    expect(problems).toContain('KAFKA_SASL_USERNAME=buddies-windows is not a KafkaUser of the manifests');
    expect(problems).toContain('mounts the password of buddies-processors but signs in as buddies-windows');
  });

  it.each(OVERLAYS)('the %s overlay is consistent with the code', (overlay) => {
    const docs = rendered.get(overlay)!;
    expect(docs.filter((d) => d.kind === 'KafkaTopic').length).toBeGreaterThanOrEqual(Object.keys(TOPICS).length);
    expect(checkManifests(docs, facts)).toEqual([]);
  });

  it('every Buddies workload runs non-root with a read-only root filesystem and no capabilities', () => {
    const docs = rendered.get('production')!;
    const deployments = docs.filter((d) => d.kind === 'Deployment').map((d) => d.metadata.name).sort();
    expect(deployments).toEqual(['apicurio-registry', 'gateway', 'lifecycle', 'recommender', 'trainer', 'warehouse', 'windows']);
    const trainer = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'trainer') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(trainer.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    expect(trainer.spec.template.spec.tolerations[0].key).toBe('nvidia.com/gpu');
    const canary = rendered.get('canary')!.find((d) => d.kind === 'Deployment' && d.metadata.name === 'recommender-canary');
    expect(canary).toBeDefined();
  });

  describe('catches a manifest that disagrees with the code', () => {
    it('a topic with other partitions than the code declares, or missing', () => {
      const wrong = broken('KafkaTopic', TOPICS.listens.name, (m) => { m.spec.partitions = 12; });
      expect(checkManifests(wrong, facts)).toContain(`KafkaTopic/${TOPICS.listens.name}: partitions 12, the code declares 6`);
      const missing = rendered.get('production')!.filter((d) => !(d.kind === 'KafkaTopic' && d.metadata.name === TOPICS.feedback.name));
      expect(checkManifests(missing, facts).join('\n')).toContain(`KafkaTopic/${TOPICS.feedback.name}: missing`);
    });

    it('an environment variable the code does not read', () => {
      const docs = broken('ConfigMap', 'buddies-config', (m) => { m.data.KAFKA_BOOTSTRAP_SERVERS = 'x:9094'; });
      expect(checkManifests(docs, facts).join('\n')).toContain('environment variable KAFKA_BOOTSTRAP_SERVERS is not read by config/config.ts');
    });

    it('a container port other than the one the process listens on', () => {
      const docs = broken('Deployment', 'gateway', (m) => { m.spec.template.spec.containers[0].ports[0].containerPort = 3000; });
      expect(checkManifests(docs, facts).join('\n')).toContain('containerPort 3000 (http) but the process listens on BUDDIES_GATEWAY_PORT=8080');
    });

    it('a probe path the process does not serve', () => {
      const docs = broken('Deployment', 'windows', (m) => { m.spec.template.spec.containers[0].livenessProbe.httpGet.path = '/health'; });
      expect(checkManifests(docs, facts).join('\n')).toContain('liveness probe on /health, which the process does not serve');
    });

    it('a scaler on a consumer group no processor uses', () => {
      const docs = broken('ScaledObject', 'windows', (m) => { m.spec.triggers[0].metadata.consumerGroup = 'buddies.window'; });
      expect(checkManifests(docs, facts).join('\n')).toContain('trigger on consumer group buddies.window, which no processor uses');
    });

    it('more replicas than partitions', () => {
      const docs = broken('ScaledObject', 'recommender', (m) => { m.spec.maxReplicaCount = 12; });
      expect(checkManifests(docs, facts).join('\n')).toContain('maxReplicaCount 12 is above the 6 partitions of buddies.listens.v1');
    });

    it('an alert on a metric the code does not register', () => {
      const docs = broken('PrometheusRule', 'buddies-services', (m) => { m.spec.groups[0].rules[0].expr = 'buddies_streams_alive < 1'; });
      expect(checkManifests(docs, facts).join('\n')).toContain('buddies_streams_alive is not a metric the code registers');
    });

    it('a password in plain text, a missing securityContext setting, a command the CLI does not have', () => {
      const docs = broken('Deployment', 'warehouse', (m) => {
        const c = m.spec.template.spec.containers[0];
        c.env.push({ name: 'CLICKHOUSE_PASSWORD', value: 'hunter2' });
        c.securityContext.readOnlyRootFilesystem = false;
        c.args = ['proces', 'warehouse'];
      });
      const problems = checkManifests(docs, facts).join('\n');
      expect(problems).toContain('CLICKHOUSE_PASSWORD has a literal value');
      expect(problems).toContain('readOnlyRootFilesystem must be true');
      expect(problems).toContain("runs 'proces warehouse', not a buddies command");
    });
  });
});
