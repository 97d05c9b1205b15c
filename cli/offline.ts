import { createDispatcher, type Subcommand } from './dispatch.js';

/**
 * `buddies offline SUB ...`: batch commands with fixed contracts that other tools call. Each subcommand
 * is its own module, loaded only when it runs; add one line per subcommand to {@link SUBCOMMANDS}.
 */
const SUBCOMMANDS: ReadonlyArray<readonly [string, Subcommand]> = [
  ['recommend-playlists', { line: '--playlists DIR --queries FILE --k K --out FILE', load: async () => (await import('./offline-recommend-playlists.js')).offlineRecommendPlaylistsCommand }],
  ['neighbors', { line: '--interactions FILE --format lastfm|triplets --k K --out FILE', load: async () => (await import('./offline-neighbors.js')).offlineNeighborsCommand }],
  ['train-bpr', { line: '--interactions FILE --format lastfm|triplets --factors F --epochs E --threads T --out DIR', load: async () => (await import('./offline-train-bpr.js')).offlineTrainBprCommand }],
  ['recommend-items', { line: '--interactions FILE --format lastfm|triplets --users FILE --k K --factors F --epochs E --threads T --out FILE', load: async () => (await import('./offline-recommend-items.js')).offlineRecommendItemsCommand }],
  // @offline-subcommands (add one line per subcommand above this marker)
];

export const offlineCommand = createDispatcher({
  name: 'offline',
  noun: 'subcommand',
  summary: `offline batch commands: ${SUBCOMMANDS.map(([n]) => n).join(', ')}`,
  intro: 'Batch commands with fixed contracts (other tools call them). Progress goes to stderr.',
  subcommands: SUBCOMMANDS,
});
