import { UsageError, type Command } from './command.js';

/**
 * `buddies eval PROTOCOL ...`: offline evaluation protocols, each its own module, loaded only when it runs.
 * Add one line per protocol to {@link PROTOCOLS}.
 */
const PROTOCOLS: ReadonlyArray<readonly [string, { readonly summary: string; readonly load: () => Promise<Command> }]> = [
  ['interactions', { summary: 'protocol (b): user–item interactions, seeded 20% holdout per user; BPR vs popularity and random', load: async () => (await import('./eval-interactions.js')).evalInteractionsCommand }],
  ['mpd', { summary: 'protocol (a): MPD playlists, first half known, second half hidden; pipeline vs baselines', load: async () => (await import('./eval-mpd.js')).evalMpdCommand }],
  // @eval-protocols (add one line per protocol above this marker)
];

const HELP = `usage: buddies eval <protocol> [options]

Offline evaluation with full ranking (no sampled negatives) and the baselines in the same run; a table on
stdout, JSON on disk, and the run recorded in runs/runs.jsonl.

protocols:
${PROTOCOLS.map(([n, p]) => `  ${n.padEnd(13)} ${p.summary}`).join('\n')}

'buddies eval <protocol> help' prints the protocol's options.
Exit: 0 ok, 1 failure (e.g. unreadable input), 2 usage.`;

export const evalCommand: Command = {
  summary: 'offline evaluation: ' + PROTOCOLS.map(([n]) => n).join(', '),
  help: HELP,
  async run(argv) {
    const [name, ...rest] = argv;
    const names = PROTOCOLS.map(([n]) => n).join(', ');
    if (name === undefined) throw new UsageError(`expected a protocol: ${names}`);
    const p = PROTOCOLS.find(([n]) => n === name)?.[1];
    if (!p) throw new UsageError(`unknown protocol '${name}' (expected ${names})`);
    const command = await p.load();
    if (rest[0] === 'help') {
      process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    try {
      return await command.run(rest);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`${name}: ${err.message}`);
      throw err;
    }
  },
};
