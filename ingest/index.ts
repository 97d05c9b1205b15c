export { importDataset, defaultStateFile } from './import.js';
export type { ImportKind, ImportOptions, ImportProgress, ImportSummary, ImportCounts } from './import.js';
export { mpdPlaylistEvents, interactionListens, trackRow, fnv1a, DEFAULT_DURATION_MS, SYNTHETIC_EPOCH_MS } from './events.js';
export type { MpdEvents } from './events.js';
