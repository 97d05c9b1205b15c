import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker-thread module `name` (relative, without extension, e.g. `'./cpu-worker'`) that sits next to the
 * calling module, whose `import.meta.url` is `callerUrl`, handing it `workerData` (type it with the interface the
 * worker module exports, so both sides agree).
 *
 * When the caller is a `.js` file (compiled: `dist/…/x.js`) it runs `x-worker.js` beside it, an ES module like the rest
 * of dist/. Otherwise the caller is TypeScript source (under vitest or tsx, with no `.js` beside it), so it runs
 * `x-worker.ts` with tsx's ESM hooks registered in the worker first (tsx is a devDependency; Node 20 runs no `.ts`).
 */
export function startWorker<D>(callerUrl: string | URL, name: string, workerData: D, options: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  const compiled = new URL(callerUrl).pathname.endsWith('.js');
  const file = new URL(`${name}.${compiled ? 'js' : 'ts'}`, callerUrl);
  if (compiled) return new Worker(file, { ...options, workerData });
  return new Worker(file, { ...options, workerData, execArgv: [...(options.execArgv ?? []), '--import', tsxPreload()] });
}

let preload: string | undefined;

/**
 * A `--import` module that registers tsx's ESM hooks. Not `--import tsx` itself: on Node 20 tsx's loader registers its
 * hooks only in the main thread, and so does a worker's inherited `--import`; its `esm/api` `register()` works in a
 * worker. tsx is resolved from here (its package.json `exports`), so the working directory does not matter.
 */
function tsxPreload(): string {
  if (preload === undefined) {
    const require = createRequire(import.meta.url);
    let api: string;
    try {
      const pkgFile = require.resolve('tsx/package.json');
      const pkg = require(pkgFile) as { exports: Record<string, { import: { default: string } }> };
      const entry = pkg.exports['./esm/api']?.import.default;
      if (entry === undefined) throw new Error("tsx's package.json exports no ./esm/api for import");
      api = pathToFileURL(join(dirname(pkgFile), entry)).href;
    } catch (e) {
      throw new Error(`starting a worker thread from TypeScript source needs tsx (a devDependency): ${e instanceof Error ? e.message : String(e)}`);
    }
    preload = `data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(api)};\nregister();\n`)}`;
  }
  return preload;
}
