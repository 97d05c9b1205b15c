import { UsageError, type Command } from './command.js';

/**
 * `buddies offline SUB ...`: batch commands with fixed contracts that other tools call. Each subcommand
 * is its own module, loaded only when it runs; add one line per subcommand to {@link SUBCOMMANDS}.
 */
interface Subcommand {
  /** One line for `buddies offline --help`: the usage line. */
  readonly usage: string;
  readonly load: () => Promise<Command>;
}

const SUBCOMMANDS: ReadonlyArray<readonly [string, Subcommand]> = [
  ['recommend-playlists', { usage: '--playlists DIR --queries FILE --k K --out FILE', load: async () => (await import('./offline-recommend-playlists.js')).offlineRecommendPlaylistsCommand }],
  ['neighbors', { usage: '--interactions FILE --format lastfm|triplets --k K --out FILE', load: async () => (await import('./offline-neighbors.js')).offlineNeighborsCommand }],
  ['train-bpr', { usage: '--interactions FILE --format lastfm|triplets --factors F --epochs E --threads T --out DIR', load: async () => (await import('./offline-train-bpr.js')).offlineTrainBprCommand }],
  ['recommend-items', { usage: '--interactions FILE --format lastfm|triplets --users FILE --k K --factors F --epochs E --threads T --out FILE', load: async () => (await import('./offline-recommend-items.js')).offlineRecommendItemsCommand }],
  // @offline-subcommands (add one line per subcommand above this marker)
];

function helpText(): string {
  const lines = SUBCOMMANDS.map(([name, s]) => `  ${name}\n      ${s.usage}`);
  return `usage: buddies offline <subcommand> [options]

Batch commands with fixed contracts (other tools call them). Progress goes to stderr.

subcommands:
${lines.join('\n')}

'buddies offline <subcommand> help' prints the subcommand's full help.
Exit: 0 ok, 1 failure (e.g. unreadable input), 2 usage.
`;
}

export const offlineCommand: Command = {
  summary: 'offline batch commands: ' + (SUBCOMMANDS.length ? SUBCOMMANDS.map(([n]) => n).join(', ') : '(none yet)'),
  get help() {
    return helpText();
  },
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === undefined) throw new UsageError(`expected a subcommand: ${SUBCOMMANDS.map(([n]) => n).join(', ')}`);
    const sub = SUBCOMMANDS.find(([n]) => n === name)?.[1];
    if (!sub) throw new UsageError(`unknown subcommand '${name}' (expected ${SUBCOMMANDS.map(([n]) => n).join(', ')})`);
    const command = await sub.load();
    if (rest[0] === 'help') {
      process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    try {
      return await command.run(rest);
    } catch (err) {
      // name the subcommand in the usage message main() prints
      if (err instanceof UsageError) throw new UsageError(`${name}: ${err.message}`);
      throw err;
    }
  },
};
