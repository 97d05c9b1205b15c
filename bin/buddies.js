#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (npm ci runs it through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`buddies: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
