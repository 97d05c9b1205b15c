import { loadConfig, type BuddiesConfig } from '../../config/index.js';

let cached: BuddiesConfig | undefined;

/** The configuration of the services that scripts/test.sh started (tests and benchmarks are their own entry points). */
export function testConfig(): BuddiesConfig {
  return (cached ??= loadConfig(process.env));
}
