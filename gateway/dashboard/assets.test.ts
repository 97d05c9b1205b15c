import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DashboardNotBuiltError, defaultDashboardDir, loadDashboardAssets } from './assets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function bundle(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'buddies-assets-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('dashboard assets', () => {
  it('maps the built files to their URL paths with their content types, index.html also under the folder', () => {
    const assets = loadDashboardAssets({ dir: bundle({ 'index.html': '<!doctype html>', 'app.js': 'x()', 'app.css': 'a{}' }) });
    expect([...assets.keys()].sort()).toEqual(['/dashboard/', '/dashboard/app.css', '/dashboard/app.js', '/dashboard/index.html']);
    expect(assets.get('/dashboard/app.js')).toEqual({ contentType: 'text/javascript; charset=utf-8', body: Buffer.from('x()') });
    expect(assets.get('/dashboard/')).toBe(assets.get('/dashboard/index.html'));
    expect(assets.get('/dashboard/app.css')!.contentType).toBe('text/css; charset=utf-8');
  });

  it('says how to build it when the bundle is missing or incomplete', () => {
    expect(() => loadDashboardAssets({ dir: bundle({}) })).toThrow(DashboardNotBuiltError);
    expect(() => loadDashboardAssets({ dir: bundle({ 'index.html': '' }) })).toThrow(/the dashboard is not built \(no .*index\.html\): run npm run build/);
    expect(() => loadDashboardAssets({ dir: bundle({ 'index.html': '', 'app.js': '', 'app.css': '' }), prefix: 'dash' })).toThrow(RangeError);
  });

  it('looks for the bundle in dist/dashboard of the repository', () => {
    expect(defaultDashboardDir()).toBe(fileURLToPath(new URL('../../dist/dashboard', import.meta.url)));
  });
});
