export { createTasteModel, meanTaste, DEFAULT_FEEDBACK_WEIGHTS, FEEDBACK_KINDS } from './taste.js';
export type { FeedbackKind, RecentRing, TasteEvent, TasteModel, TasteModelOptions, TasteState } from './taste.js';
