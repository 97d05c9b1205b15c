export { buildPlaylistPipeline, createPlaylistIdNamer, DEFAULT_PIPELINE_OPTIONS, pipelinePlaylistFromMpd, uniquePlaylistIds } from './pipeline.js';
export type { PairingIndexKind, PlaylistIdNamer, PipelineOptions, PipelineQuery, PlaylistPipeline, PipelinePlaylist } from './pipeline.js';
export { computeNeighbors } from './neighbors.js';
export type { NeighborsOptions, NeighborsResult } from './neighbors.js';
