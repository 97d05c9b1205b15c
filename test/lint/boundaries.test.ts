// The layer boundaries in eslint.config.js (`layers/boundaries`): each rule reports an upward
// import and lets a legal one through. The code is linted as text under a made-up path, so no file
// has to exist on disk; the config lints without type information, so this runs in a few seconds.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RULE = 'layers/boundaries';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot });
});

/** The `layers/boundaries` messages for `code` linted as if it lived at `filePath` (relative to the repository root). */
async function boundaryMessages(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, filePath) });
  expect(result, `no lint result for ${filePath}`).toBeDefined();
  const messages = result!.messages;
  // A file that is ignored or fails to parse would pass vacuously: insist on neither.
  expect(messages.filter((m) => m.ruleId === null), JSON.stringify(messages)).toEqual([]);
  return messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

type Case = readonly [file: string, code: string, expected: RegExp | null];

const cases: Record<string, readonly Case[]> = {
  '1. models/ is pure computation': [
    ['models/x/fake.ts', "import { Kafka } from 'kafkajs';\nexport const k = Kafka;", /models\/ is pure computation: no Kafka, ClickHouse/],
    ['models/x/fake.ts', "import '@kafkajs/confluent-schema-registry';", /no Kafka/],
    ['models/x/fake.ts', "import { createClient } from '@clickhouse/client';\nexport const c = createClient;", /no Kafka, ClickHouse/],
    ['models/x/fake.ts', "import WebSocket from 'ws';\nexport const w = WebSocket;", /WebSocket/],
    ['models/x/fake.ts', "import 'prom-client';", /prom-client/],
    ['models/x/fake.ts', "import { createServer } from 'node:http';\nexport const s = createServer;", /HTTP/],
    ['models/x/fake.ts', "import 'node:https';", /HTTP/],
    ['models/x/fake.ts', "import 'http2';", /HTTP/],
    ['models/x/fake.ts', "import 'node:net';", /HTTP/],
    ['models/x/fake.ts', "import { spawn } from 'child_process';\nexport const s = spawn;", /child-process/],
    ['models/x/fake.ts', "export async function f() { return import('node:child_process'); }", /child-process/],
    ['models/x/fake.ts', "import { createStreamsApp } from '../../streams/index.js';\nexport const r = createStreamsApp;", /models\/ is pure computation: it imports nothing of ours/],
    ['models/fake.ts', "import '../streams/index.js';", /imports nothing of ours outside models/],
    ['models/x/fake.ts', "import type { RunStore } from '../../runs/index.js';\nexport type S = RunStore;", /imports nothing of ours outside models/],
    ['models/x/fake.ts', "export * from '../../data/index.js';", /imports nothing of ours outside models/],
    ['models/x/fake.ts', "import '../../config/index.js';", /imports nothing of ours outside models/],
    ['models/x/fake.ts', "import '../../test/helpers/samples.js';", /imports nothing of ours outside models/],
    // legal: within models/, and the pure Node built-ins and libraries
    ['models/bpr/fake.ts', "import { createRng } from '../embeddings/random.js';\nexport const r = createRng;", null],
    ['models/bpr/fake.ts', "import { topK } from './kernel.js';\nexport const t = topK;", null],
    ['models/fake.ts', "import '../models/bpr/index.js';", null],
    ['models/bpr/fake.ts', "import '../streams/index.js';", null], // models/streams: still inside models/
    [
      'models/x/fake.ts',
      "import 'node:worker_threads';\nimport 'node:fs/promises';\nimport 'node:path';\nimport 'node:os';\nimport 'node:crypto';\nimport 'node:url';\nimport 'hnswlib-node';\nimport '@tensorflow/tfjs';",
      null,
    ],
  ],
  '2. library layers never import the app layers nor cli/': [
    ['warehouse/fake.ts', "import { createWarehouseSink } from '../processors/index.js';\nexport const s = createWarehouseSink;", /never import the app layers/],
    ['streams/x/fake.ts', "import '../../ingest/index.js';", /never import the app layers/],
    ['data/fake.ts', "import '../simulator/index.js';", /never import the app layers/],
    ['runs/fake.ts', "export { x } from '../gateway/index.js';", /never import the app layers/],
    ['streams/fake.ts', "import type { T } from '../trainer/index.js';\nexport type U = T;", /never import the app layers/],
    ['warehouse/fake.ts', "import '../cli/main.js';", /cli\/ is the top layer/],
    // legal: a library importing another library, and the app layers importing libraries
    ['warehouse/fake.ts', "import type { RunStore } from '../runs/index.js';\nexport type S = RunStore;", null],
    ['processors/fake.ts', "import { TransientError } from '../streams/index.js';\nexport const e = TransientError;", null],
    ['simulator/fake.ts', "import '../data/world.js';\nimport '../streams/index.js';", null],
    ['ingest/fake.ts', "import '../processors/index.js';", null],
  ],
  '3. nothing outside cli/ imports cli/': [
    ['test/helpers/fake.ts', "import { loadConfig } from '../../cli/config.js';\nexport const l = loadConfig;", /cli\/ is the top layer/],
    ['test/integration/fake.int.test.ts', "import '../../cli/main.js';", /cli\/ is the top layer/],
    ['bench/fake.ts', "import '../cli/config.js';", /cli\/ is the top layer/],
    ['stack/fake.ts', "import '../cli/config.js';", /cli\/ is the top layer/],
    ['processors/fake.ts', "import '../cli/commands.js';", /cli\/ is the top layer/],
    ['fake.config.ts', "import './cli/main.js';", /cli\/ is the top layer/],
    // legal: cli/ importing itself and everything below it; the JS launcher that loads the build
    ['cli/fake.ts', "import '../processors/index.js';\nimport '../stack/index.js';\nimport '../config/index.js';\nimport './flags.js';", null],
    ['bin/buddies.js', "import { main } from '../dist/cli/main.js';\nmain(process.argv.slice(2));", null],
    ['test/helpers/fake.ts', "import '../../streams/index.js';\nimport '../../config/index.js';", null],
  ],
  '4. config/ imports no other folder of ours': [
    ['config/fake.ts', "import '../streams/index.js';", /config\/ is the bottom layer/],
    ['config/x/fake.ts', "import '../../models/bpr/index.js';", /config\/ is the bottom layer/],
    ['config/fake.ts', "import '../processors/index.js';", /never import the app layers/],
    // legal: within config/, Node built-ins; and stack/ may import config/
    ['config/fake.ts', "import './config.js';\nimport 'node:fs';\nimport 'node:path';", null],
    ['stack/fake.ts', "import type { BuddiesConfig } from '../config/index.js';\nexport type C = BuddiesConfig;", null],
  ],
  '5. registry/ is a library above streams/ and models/': [
    ['registry/fake.ts', "import { createRecommenderApp } from '../processors/index.js';\nexport const a = createRecommenderApp;", /never import the app layers/],
    ['registry/x/fake.ts', "import '../../simulator/index.js';", /never import the app layers/],
    ['registry/fake.ts', "import '../cli/models.js';", /cli\/ is the top layer/],
    ['streams/fake.ts', "import { createModelRegistry } from '../registry/index.js';\nexport const r = createModelRegistry;", /registry\/ sits above streams\/ and models\//],
    ['warehouse/fake.ts', "import type { ModelVersion } from '../registry/index.js';\nexport type V = ModelVersion;", /registry\/ sits above/],
    ['data/fake.ts', "export * from '../registry/index.js';", /registry\/ sits above/],
    ['runs/fake.ts', "import '../registry/registry.js';", /registry\/ sits above/],
    ['models/x/fake.ts', "import '../../registry/index.js';", /models\/ is pure computation: it imports nothing of ours/],
    ['config/fake.ts', "import '../registry/index.js';", /config\/ is the bottom layer/],
    // legal: the registry on streams/, models/ and config/, Kafka and the file system; the apps, cli/ and tests on the registry
    [
      'registry/fake.ts',
      "import '../streams/index.js';\nimport '../models/embeddings/index.js';\nimport '../models/bpr/index.js';\nimport '../config/index.js';\nimport 'kafkajs';\nimport 'node:fs/promises';\nimport './artifacts.js';",
      null,
    ],
    ['processors/fake.ts', "import { loadAnnouncedEmbeddings } from '../registry/index.js';\nexport const l = loadAnnouncedEmbeddings;", null],
    ['cli/fake.ts', "import '../registry/index.js';", null],
    ['test/integration/fake.int.test.ts', "import '../../registry/index.js';", null],
  ],
};

describe('layer boundaries (eslint layers/boundaries)', () => {
  for (const [name, list] of Object.entries(cases)) {
    describe(name, () => {
      it.each(list)('%s: %j', async (file, code, expected) => {
        const messages = await boundaryMessages(file, code);
        if (expected === null) {
          expect(messages).toEqual([]);
        } else {
          expect(messages).toHaveLength(1);
          expect(messages[0]).toMatch(expected);
        }
      });
    });
  }

  it('reports every offending import, with the rule id, line and column', async () => {
    const [result] = await eslint.lintText(
      "import { Kafka } from 'kafkajs';\nimport { createStreamsApp } from '../../streams/index.js';\nimport { topK } from './kernel.js';\nexport const all = [Kafka, createStreamsApp, topK];\n",
      { filePath: path.join(repoRoot, 'models/x/fake.ts') },
    );
    const found = result!.messages.filter((m) => m.ruleId === RULE).map((m) => ({ ruleId: m.ruleId, severity: m.severity, line: m.line, column: m.column }));
    expect(found).toEqual([
      { ruleId: RULE, severity: 2, line: 1, column: 23 },
      { ruleId: RULE, severity: 2, line: 2, column: 34 },
    ]);
  });
});
