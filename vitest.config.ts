import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure logic, no services), `integration` (the real Kafka, registry and
// ClickHouse that scripts/test.sh starts; files end in `.int.test.ts`) and `e2e` (whole scenarios of several
// processes on the real stack, minutes each and stochastic: `npm run test:e2e`, not part of scripts/test.sh;
// files end in `.e2e.test.ts`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', 'node_modules/**', 'dist/**', '.stack/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', 'dist/**', '.stack/**'],
          globalSetup: ['test/helpers/integration-teardown.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ['node_modules/**', 'dist/**', '.stack/**'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
