export { attributeRow, attributionOf, createWarehouseSinkTopology, DEFAULT_ATTRIBUTION_WAIT_MS, isRejectedRow, listenRows, feedbackRows, playlistRows, recommendationRows, ListNotYetStoredError, NOT_IN_THE_LIST, RejectedRowError, ROW_MAPPERS, SINK_TOPICS } from './warehouse-sink.js';
export type { WarehouseSinkOptions } from './warehouse-sink.js';
export type { Attribution, TableRow, SinkTopic } from './warehouse-sink.js';
export { createLiveRecommender, DEFAULT_RECOMMENDER_OPTIONS, RECOMMEND_STRATEGIES, USERS_STORE } from './recommender.js';
export type { LiveRecommender, RecommenderOptions, RecommenderStats, RecommendStrategy, UserState } from './recommender.js';
export { AUTO_HNSW_USERS, bprScorer, createLiveWorld } from './live-world.js';
export type { LiveBpr, LiveEmbeddings, LiveIndexKind, LiveWorld, LiveWorldOptions } from './live-world.js';
export { createLiveCatalog } from './live-catalog.js';
export type { LiveCatalog } from './live-catalog.js';
export { EVENT_RULES, validateFeedback, validateListen } from './validation.js';
export { foldPlaylists, pipelinePlaylists, readPlaylistTable } from './playlist-table.js';
export {
  createRecommenderApp, createWarehouseApp, createWindowsApp, EmptyPlaylistTableError, LIVE_BUDDIES, LIVE_EMBEDDING_DIMS, NoEmbeddingsError, recommenderApplicationId, recommenderTopology, trainAndAnnounceEmbeddings,
} from './apps.js';
export { forgetUser, ForgetPendingError } from './forget.js';
export type { ForgetOptions, ForgetResult } from './forget.js';
export { inspectUser, knowsUser } from './inspect.js';
export type { InspectOptions, UserInspection } from './inspect.js';
export type { TrainEmbeddingsOptions, ProcessorApp, RecommenderAppOptions, WarehouseAppOptions, WindowsAppOptions } from './apps.js';
export { DEFAULT_WINDOW_OPTIONS, INTERACTION_WEIGHTS, interactionOf, windowsTopology, WINDOWS_META_STORE, WINDOWS_STORE } from './windows.js';
export type { OpenWindow, WindowEvent, WindowsOptions } from './windows.js';
