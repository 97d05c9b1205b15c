export { coverageAtK, hitsAtK, meanOver, ndcgAtK, noveltyAtK, precisionAtK, recallAtK } from './metrics.js';
export { bprRecommender, formatResultTable, markdownResultTable, popularityRecommender, randomRecommender, runInteractionsProtocol, scoreLists } from './interactions-protocol.js';
export type { ItemRecommender, MethodResult, MetricValues, ProtocolOptions, ProtocolResult } from './interactions-protocol.js';
export { sampleConfig, SEARCH_SPACE, tuneBpr } from './tune.js';
export type { TunedParams, TuneOptions, TuneResult, TuneTrial } from './tune.js';
export { cosineNeighbors, formatNeighborsTable, neighborRecall, neighborVote, randomNeighbors, runNeighborsEval } from './neighbors.js';
export type { IndexedNeighbor, NeighborsEvalOptions, NeighborsEvalResult, NeighborsEvalRow } from './neighbors.js';
