export { createWarehouseSinkTopology, isRejectedRow, listenRows, feedbackRows, playlistRows, recommendationRows, RejectedRowError, ROW_MAPPERS, SINK_TOPICS } from './warehouse-sink.js';
export type { WarehouseSinkOptions } from './warehouse-sink.js';
export type { TableRow, SinkTopic } from './warehouse-sink.js';
export { createLiveRecommender, DEFAULT_RECOMMENDER_OPTIONS, RECOMMEND_STRATEGIES } from './recommender.js';
export type { LiveRecommender, RecommenderOptions, RecommendStrategy } from './recommender.js';
export { foldPlaylists, pipelinePlaylists } from './playlist-table.js';
export { createRecommenderApp, createWarehouseApp, EmptyPlaylistTableError, LIVE_BUDDIES, LIVE_EMBEDDING_DIMS, recommenderTopology } from './apps.js';
export type { ProcessorApp, RecommenderAppOptions, WarehouseAppOptions } from './apps.js';
