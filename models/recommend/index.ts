export { createRecommender, findBuddies, findBuddiesMany, RECOMMEND_STRATEGIES } from './recommender.js';
export type { BprScorer, RecommendOptions, RecommendResult, Recommender, RecommenderSources, RecommendStrategy } from './recommender.js';
export { popularPicks, popularPlaylists, randomPicks, randomPlaylists } from './baselines.js';
export type { BaselineUser } from './baselines.js';
export { COUNT_WEIGHTINGS, countWeight, historyTaste, offlineTasteModel } from './taste.js';
export type { CountWeighting, HistoryItem } from './taste.js';
