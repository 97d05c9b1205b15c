// Issue 12: `npm run k8s:validate` must fail on a deliberately broken manifest: a wrong field type (kubeconform and
// the Kubernetes schema), an unknown field in a CRD (the Strimzi and KEDA schemas, strict), and a probe path the code
// does not serve (the consistency checks). Each case breaks a copy of k8s/ and runs the real validator on it.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRootDir } from '../../config/config.js';
import { ensureTools } from '../../scripts/k8s-validate.js';

const root = findRootDir();
const copies: string[] = [];

/** Runs the validator CLI on a copy of k8s/ changed by `edit` (file relative to k8s/, text → text). */
// Asynchronous: a synchronous child would block the test worker's event loop for the whole run.
function validate(dir?: string): Promise<{ status: number | null; output: string }> {
  // a broken copy is checked on the production overlay alone (every overlay renders the base it breaks)
  const args = ['--import', 'tsx', join(root, 'scripts/k8s-validate.ts'), ...(dir ? ['--dir', dir, '--overlay', 'production'] : [])];
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

function validateBroken(file: string, edit: (text: string) => string): Promise<{ status: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'buddies-k8s-'));
  copies.push(dir);
  cpSync(join(root, 'k8s'), dir, { recursive: true });
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before); // the edit applied
  writeFileSync(path, after);
  return validate(dir);
}

describe('k8s:validate', () => {
  beforeAll(() => { ensureTools(); }, 600_000);
  afterAll(() => { for (const d of copies) rmSync(d, { recursive: true, force: true }); });

  it('passes on the manifests of the repository', async () => {
    const r = await validate();
    expect(r.output).toContain('3 overlays valid');
    expect(r.status).toBe(0);
  }, 120_000);

  it('fails on a wrong field type (a Deployment whose replicas is a string)', async () => {
    const r = await validateBroken('base/windows.yaml', (t) => t.replace('  replicas: 1\n', '  replicas: "one"\n'));
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/Deployment\/windows: invalid: .*replicas/);
  }, 120_000);

  it('fails on an unknown field in a CRD (a KafkaTopic and a KEDA ScaledObject)', async () => {
    const topic = await validateBroken('base/topics.yaml', (t) => t.replace('  partitions: 6\n', '  partitions: 6\n  partitionCount: 6\n'));
    expect(topic.status).toBe(1);
    expect(topic.output).toMatch(/KafkaTopic\/buddies\.listens\.v1: invalid: .*partitionCount/);
    const scaled = await validateBroken('base/warehouse.yaml', (t) => t.replace('  maxReplicaCount: 6\n', '  maxReplicaCount: 6\n  maxReplicas: 6\n'));
    expect(scaled.status).toBe(1);
    expect(scaled.output).toMatch(/ScaledObject\/warehouse: invalid: .*maxReplicas/);
  }, 240_000);

  it('fails on a probe path the code does not serve', async () => {
    const r = await validateBroken('base/gateway.yaml', (t) => t.replace('readinessProbe: { httpGet: { path: /readyz', 'readinessProbe: { httpGet: { path: /ready'));
    expect(r.status).toBe(1);
    expect(r.output).toContain('Deployment/gateway: container gateway: readiness probe on /ready, which the gateway does not serve');
  }, 120_000);
});
