import { createDispatcher, type Subcommand } from './dispatch.js';

/**
 * `buddies eval PROTOCOL ...`: offline evaluation protocols, each its own module, loaded only when it runs.
 * Add one line per protocol to {@link PROTOCOLS}.
 */
const PROTOCOLS: ReadonlyArray<readonly [string, Subcommand]> = [
  ['interactions', { line: 'protocol (b): user–item interactions, seeded 20% holdout per user; BPR vs popularity and random', load: async () => (await import('./eval-interactions.js')).evalInteractionsCommand }],
  ['mpd', { line: 'protocol (a): MPD playlists, first half known, second half hidden; pipeline vs baselines', load: async () => (await import('./eval-mpd.js')).evalMpdCommand }],
  ['neighbors', { line: 'protocol (c): user–item interactions, seeded 20% holdout per user; taste pairing vs plain cosine vs random neighbours', load: async () => (await import('./eval-neighbors.js')).evalNeighborsCommand }],
  // @eval-protocols (add one line per protocol above this marker)
];

export const evalCommand = createDispatcher({
  name: 'eval',
  noun: 'protocol',
  summary: `offline evaluation: ${PROTOCOLS.map(([n]) => n).join(', ')}`,
  intro: `Offline evaluation with full ranking (no sampled negatives) and the baselines in the same run; a table on
stdout, JSON on disk, and the run recorded (ClickHouse when it answers, else out/runs.jsonl).`,
  subcommands: PROTOCOLS,
});
