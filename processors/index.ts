export { createWarehouseSink, listenRows, feedbackRows, playlistRows, recommendationRows, ROW_MAPPERS } from './warehouse-sink.js';
export type { TableRow, SinkTopic } from './warehouse-sink.js';
