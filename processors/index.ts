export { createWarehouseSink, listenRows, feedbackRows, playlistRows, recommendationRows, ROW_MAPPERS, SINK_TOPICS } from './warehouse-sink.js';
export type { TableRow, SinkTopic } from './warehouse-sink.js';
export { createLiveRecommender } from './recommender.js';
export type { LiveRecommender, RecommenderOptions, RecommendStrategy } from './recommender.js';
export { foldPlaylists, worldPlaylists } from './playlist-table.js';
