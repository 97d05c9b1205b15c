export { createExactIndex } from './exact.js';
export type { ExactIndexOptions } from './exact.js';
export { createHnswIndex } from './hnsw.js';
export type { HnswIndex, HnswIndexOptions } from './hnsw.js';
export { topKBlocked } from './kernel.js';
export type { Neighbor, PairingIndex, QueryOptions } from './pairing.js';
