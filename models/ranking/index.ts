export { cooccurrenceScores, createRanker, DEFAULT_COOCCURRENCE, DEFAULT_RANKING_WEIGHTS, gatherCandidates, popularFallback, reRank, scoreBuddyCandidates } from './ranker.js';
export type { CooccurrenceOptions, RankRequest, Ranker, RankerOptions, RankingWeights } from './ranker.js';
export { createMemoryCatalog, playlistCentroid } from './catalog.js';
export type { RankedBuddy, RankingExplanation, PlaylistCatalog, PlaylistInfo, RankingUser, Recommendation, ScoreComponents } from './types.js';
