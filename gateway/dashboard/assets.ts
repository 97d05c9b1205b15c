import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StaticAssets } from '../protocol.js';

/**
 * The dashboard's files, as `createGateway({ assets })` serves them under /dashboard/. They are bundled at build
 * time (`npm run build` runs scripts/build-dashboard.mjs: index.html, app.js with uPlot, app.css in dist/dashboard/)
 * and read here once, into memory.
 */

/** The bundle is missing: the page was never built. */
export class DashboardNotBuiltError extends Error {
  override readonly name = 'DashboardNotBuiltError';
  constructor(readonly dir: string) {
    super(`the dashboard is not built (no ${join(dir, 'index.html')}): run npm run build (or node scripts/build-dashboard.mjs)`);
  }
}

const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** dist/dashboard of the repository this module is in (from the source, gateway/dashboard/, or from dist/gateway/dashboard/). */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'dashboard');
    dir = dirname(dir);
  }
  throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
}

/**
 * The bundle's files keyed by URL path: `/dashboard/index.html` (also under `/dashboard/`), `/dashboard/app.js`,
 * `/dashboard/app.css`. Throws {@link DashboardNotBuiltError} when the bundle is missing.
 */
export function loadDashboardAssets(opts: { readonly dir?: string; readonly prefix?: string } = {}): StaticAssets {
  const dir = opts.dir ?? defaultDashboardDir();
  const prefix = opts.prefix ?? '/dashboard/';
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new RangeError(`prefix must start and end with '/', got '${prefix}'`);
  if (!existsSync(join(dir, 'index.html'))) throw new DashboardNotBuiltError(dir);
  const out = new Map<string, { contentType: string; body: Buffer }>();
  for (const [file, contentType] of Object.entries(TYPES)) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new DashboardNotBuiltError(dir);
    out.set(`${prefix}${file}`, { contentType, body: readFileSync(path) });
  }
  out.set(prefix, out.get(`${prefix}index.html`)!);
  return out;
}
