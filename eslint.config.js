// Flat config: typescript-eslint's recommended rules over every TypeScript file, plus the layer
// boundaries (`layers/boundaries`, a local rule defined below).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// --- Layer boundaries -------------------------------------------------------------------------
//
// The repository's top-level folders are layers. From the top down:
//   cli/                                   thin entry points; nothing outside cli/ imports cli/
//   processors/ gateway/ trainer/ lifecycle/ simulator/ ingest/   the app layers
//   stack/                                 local services; may import config/
//   registry/                              the model registry: a library above streams/ and models/
//                                          (the apps and cli/ import it; streams/, warehouse/, data/,
//                                          runs/, models/ and config/ do not)
//   streams/ warehouse/ models/ data/ runs/ config/    libraries: never import an app layer or cli/
//   models/                                pure computation: nothing of ours outside models/, no I/O
//   config/                                configuration types and loading: nothing of ours outside config/
//
// `no-restricted-imports` sees only the specifier, not the importing file, so it cannot tell
// `../streams/x.js` from models/bpr (models/streams, fine) from the same text in models/ (the
// top-level streams/, not fine); and flat-config blocks that set the same rule replace one another
// for a file instead of merging. This local rule resolves every relative specifier against the
// importing file, takes the top-level folder of both ends, and checks the union of all the
// BOUNDARIES entries that apply to the importing folder. It looks at import/export-from
// declarations (type-only ones too), `import x = require()`, `typeof import()`, literal dynamic
// `import()` and literal `require()`. The first entry an import breaks is reported.

const ROOT = path.dirname(fileURLToPath(import.meta.url));

const APP_LAYERS = ['processors', 'gateway', 'trainer', 'lifecycle', 'simulator', 'ingest'];
const LIBRARY_LAYERS = ['registry', 'streams', 'warehouse', 'models', 'data', 'runs', 'config'];

/** Node built-ins matched with or without the `node:` prefix, subpaths included. */
const builtin = (name) => `^(node:)?${name}(/.*)?$`;
/** A package and its subpaths; `@scope/*` for a whole scope. */
const pkg = (name) => (name.endsWith('/*') ? `^${name.slice(0, -1)}` : `^${name}(/.*)?$`);

/**
 * Each entry: `from` (top-level folders it applies to, or { except: [...] }) and one of
 * `folders` (top-level folders it may not import), `onlyOwnFolder` (may import no top-level folder
 * of the repository but its own) or `packages` (regexes on bare specifiers), with the message.
 */
const BOUNDARIES = [
  {
    from: { except: ['cli'] },
    folders: ['cli'],
    message: 'cli/ is the top layer (thin entry points): nothing outside cli/ imports cli/; move what you need into a library folder (e.g. config/)',
  },
  {
    from: LIBRARY_LAYERS,
    folders: APP_LAYERS,
    message: `library layers (${LIBRARY_LAYERS.join('/, ')}/) never import the app layers (${APP_LAYERS.join('/, ')}/)`,
  },
  {
    from: ['streams', 'warehouse', 'data', 'runs'],
    folders: ['registry'],
    message: 'registry/ sits above streams/ and models/ (it publishes models and announces them on Kafka): streams/, warehouse/, data/ and runs/ never import it',
  },
  {
    from: ['models'],
    onlyOwnFolder: true,
    message: 'models/ is pure computation: it imports nothing of ours outside models/ (no streams, warehouse, registry, processors, gateway, trainer, cli, stack, ingest, simulator, runs, data, config, test)',
  },
  {
    from: ['models'],
    packages: [
      pkg('kafkajs'), pkg('@kafkajs/*'), pkg('@clickhouse/*'), pkg('ws'), pkg('prom-client'),
      builtin('http'), builtin('https'), builtin('http2'), builtin('net'), builtin('child_process'),
    ],
    message: 'models/ is pure computation: no Kafka, ClickHouse, HTTP, WebSocket, child-process or metrics (prom-client) code',
  },
  {
    from: ['config'],
    onlyOwnFolder: true,
    message: 'config/ is the bottom layer (configuration types and loading): it imports no other folder of ours',
  },
];

/** The top-level folder of an absolute path inside the repository, '' for a file at the root, null outside it. */
function topFolder(absolute) {
  const rel = path.relative(ROOT, absolute);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

const appliesTo = (from, folder) => (Array.isArray(from) ? from.includes(folder) : !from.except.includes(folder));

const layerBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the import direction between the top-level folders (layers)' },
    schema: [],
    messages: { boundary: "'{{source}}' breaks a layer boundary: {{message}}" },
  },
  create(context) {
    const from = topFolder(context.filename);
    if (from === null) return {};
    const rules = BOUNDARIES.filter((b) => appliesTo(b.from, from));
    if (rules.length === 0) return {};

    function check(node, source) {
      if (typeof source !== 'string') return;
      const relative = source.startsWith('./') || source.startsWith('../') || source === '.' || source === '..' || path.isAbsolute(source);
      const target = relative ? topFolder(path.resolve(path.dirname(context.filename), source)) : undefined;
      for (const b of rules) {
        const broken = relative
          ? target !== null && target !== '' && target !== from && (b.onlyOwnFolder || (b.folders ?? []).includes(target))
          : (b.packages ?? []).some((re) => new RegExp(re).test(source));
        if (broken) {
          context.report({ node, messageId: 'boundary', data: { source, message: b.message } });
          return;
        }
      }
    }
    const literal = (node) =>
      node?.type === 'Literal' ? node.value
        : node?.type === 'TemplateLiteral' && node.expressions.length === 0 ? node.quasis[0].value.cooked
          : undefined;

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => check(node.source, literal(node.source)),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' && check(node.moduleReference.expression, literal(node.moduleReference.expression)),
      TSImportType: (node) => {
        const arg = node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument;
        check(node, literal(arg));
      },
      CallExpression: (node) =>
        node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1 && check(node.arguments[0], literal(node.arguments[0])),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.stack/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'The environment is read once, in cli/main.ts (loadConfig), and the configuration passed down.' }],
    },
  },
  {
    // stack/ hands the environment through to the daemons it starts (it reads no setting from it)
    files: ['cli/main.ts', 'stack/**', 'scripts/**', 'test/**', '**/*.test.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // One block for every linted file (bin/buddies.js included: its ../dist/cli/main.js resolves
    // into dist/, not cli/); the rule itself picks the boundaries by the file's top-level folder.
    plugins: { layers: { rules: { boundaries: layerBoundaries } } },
    rules: { 'layers/boundaries': 'error' },
  },
);
