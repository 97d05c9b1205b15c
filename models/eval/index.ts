export { coverageAtK, hitsAtK, meanOver, ndcgAtK, noveltyAtK, precisionAtK, recallAtK } from './metrics.js';
export { bprRecommender, formatResultTable, popularityRecommender, randomRecommender, runInteractionsProtocol, scoreLists } from './interactions-protocol.js';
export type { ItemRecommender, MethodResult, MetricValues, ProtocolOptions, ProtocolResult } from './interactions-protocol.js';
