#!/usr/bin/env node
// Bundles the dashboard page (gateway/dashboard/: index.html, app.ts with uPlot, style.css) into dist/dashboard/
// (index.html, app.js, app.css) with esbuild: no CDN, nothing fetched at run time. Part of `npm run build`.
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`usage: node scripts/build-dashboard.mjs [--out DIR]

Bundles the live dashboard (gateway/dashboard/) with esbuild into DIR (default dist/dashboard): index.html,
app.js (the page's code with uPlot) and app.css. The gateway serves these files under /dashboard/.
`);
  process.exit(0);
}
const outAt = args.indexOf('--out');
if (outAt >= 0 && !args[outAt + 1]) {
  process.stderr.write('build-dashboard: --out needs a directory\n');
  process.exit(2);
}
const unknown = args.filter((a, i) => i !== outAt && (outAt < 0 || i !== outAt + 1));
if (unknown.length) {
  process.stderr.write(`build-dashboard: unknown argument ${unknown[0]} (--help lists the options)\n`);
  process.exit(2);
}
const out = outAt >= 0 ? args[outAt + 1] : join(root, 'dist', 'dashboard');
const src = join(root, 'gateway', 'dashboard');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('build-dashboard: esbuild is not installed (it is a devDependency): run npm ci\n');
  process.exit(1);
}
try {
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: join(src, 'app.ts') },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'eof',
    outdir: out,
    logLevel: 'silent',
    metafile: true,
  });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  const files = readdirSync(out).map((f) => `${f} ${Math.round(statSync(join(out, f)).size / 1024)} KiB`);
  process.stdout.write(`build-dashboard: ${relative(root, out) || out}/ ${files.join(', ')}` + (result.warnings.length ? ` (${result.warnings.length} warnings)` : '') + '\n');
} catch (err) {
  const first = err?.errors?.[0];
  const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
  process.stderr.write(`build-dashboard: ${where}${first?.text ?? (err instanceof Error ? err.message : String(err))}\n`);
  process.exit(1);
}
