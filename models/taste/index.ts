export { createTasteModel, DEFAULT_SIGNAL_WEIGHTS, DEFAULT_MIN_SIGNAL, TASTE_SIGNALS } from './taste.js';
export type { TasteSignal, RecentRing, TasteEvent, TasteModel, TasteModelOptions, TasteState } from './taste.js';
