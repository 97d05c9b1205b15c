import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_EMBEDDING_OPTIONS, EMBEDDING_METHODS } from '../models/embeddings/index.js';
import { DEFAULT_PIPELINE_OPTIONS, type PairingIndexKind } from '../models/pipeline/index.js';
import { choiceFlag, intFlag } from './flags.js';

/** Flags of the commands that learn track embeddings and pair users (recommend-playlists, neighbors, eval mpd). */
export const EMBEDDING_FLAGS = {
  dims: { type: 'string' },
  method: { type: 'string' },
  'min-count': { type: 'string' },
  index: { type: 'string' },
  threads: { type: 'string' },
  seed: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const E = DEFAULT_EMBEDDING_OPTIONS;
const P = DEFAULT_PIPELINE_OPTIONS;
const INDEXES: readonly PairingIndexKind[] = ['exact', 'hnsw'];

export const EMBEDDING_FLAGS_HELP = `embedding and pairing options:
  --dims D             embedding size (default ${E.dims})
  --method M           ${EMBEDDING_METHODS.join(' or ')} (default ${E.method})
  --min-count N        tracks in fewer baskets get no embedding (default ${E.minCount})
  --index I            exact (default) or hnsw (approximate, for large worlds)
  --threads T          worker threads for the exact KNN (default ${P.threads})
  --seed S             training seed (default ${E.seed})`;

type EmbeddingFlagValues = { [K in keyof typeof EMBEDDING_FLAGS]?: string };

/** The embedding trainer and pairing options given on the command line, over the models' defaults. */
export function embeddingOptionsFromFlags(v: EmbeddingFlagValues) {
  return {
    embeddings: {
      method: choiceFlag('method', v.method, EMBEDDING_METHODS, E.method),
      dims: intFlag('dims', v.dims, E.dims),
      minCount: intFlag('min-count', v['min-count'], E.minCount),
      seed: intFlag('seed', v.seed, E.seed, -(2 ** 31)),
    },
    index: choiceFlag('index', v.index, INDEXES, P.index),
    threads: intFlag('threads', v.threads, P.threads),
  };
}
