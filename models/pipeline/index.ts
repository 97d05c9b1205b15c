export { buildPlaylistWorld, worldPlaylistFromMpd } from './pipeline.js';
export type { PipelineOptions, PipelineQuery, PlaylistWorld, WorldPlaylist } from './pipeline.js';
export { computeNeighbors } from './neighbors.js';
export type { NeighborsOptions, NeighborsResult } from './neighbors.js';
