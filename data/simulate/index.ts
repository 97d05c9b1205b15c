export { assignPersona, DEFAULT_PERSONA_MIX, PERSONA_NAMES, PERSONAS } from './personas.js';
export type { Persona, PersonaMix, PersonaName } from './personas.js';
export { affinity, react, tasteMatch } from './reaction.js';
export type { HiddenTaste, Reaction, ShownPlaylist, TrackOutcome, TrackReaction } from './reaction.js';
export { diurnalWeight, impressionGapMs, nextSessionStart, planSession } from './session.js';
export type { SessionPlan } from './session.js';
export { shiftTaste, tasteAt } from './shift.js';
export type { TasteShift } from './shift.js';
export { curateTracks } from './curate.js';
