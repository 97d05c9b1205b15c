export { createLoadReport, MAX_REJECTED_LISTED } from './types.js';
export type { Interaction, LoadReport, MpdPlaylist, MpdTrack, Rejected } from './types.js';
export { checkPlaylist, compareSliceNames, listMpdSlices, MPD_SLICE_NAME, readMpdDir, readMpdSlice } from './mpd.js';
export { INTERACTION_FORMATS, parseInteractionLine, readInteractions } from './interactions.js';
export type { InteractionFormat } from './interactions.js';
export { datasetStats, findDatasets } from './check.js';
export type { Dataset, DatasetKind, DatasetStats, Found, InteractionStats, MpdStats, ProgressFn } from './check.js';
