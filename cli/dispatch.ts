import { UsageError, wantsHelp, type Command } from './command.js';

/** A subcommand of a parent command, its module loaded only when it runs. */
export interface Subcommand {
  /** One line in the parent's help (a summary or the usage line). */
  readonly line: string;
  readonly load: () => Promise<Command>;
}

export interface DispatcherOptions {
  /** The parent's name as typed after `buddies`, e.g. `offline`. */
  readonly name: string;
  /** What the subcommands are called in messages: `subcommand`, `protocol`. */
  readonly noun: string;
  readonly summary: string;
  /** Text between the usage line and the list of subcommands. */
  readonly intro: string;
  readonly subcommands: ReadonlyArray<readonly [string, Subcommand]>;
}

/**
 * A parent command (`buddies offline SUB ...`): `--help` alone shows the list, `SUB --help` (or `SUB help`)
 * the subcommand's own help, and usage errors name the subcommand.
 */
export function createDispatcher(opts: DispatcherOptions): Command {
  const names = () => opts.subcommands.map(([n]) => n).join(', ');
  const width = Math.max(0, ...opts.subcommands.map(([n]) => n.length));
  const help = `usage: buddies ${opts.name} <${opts.noun}> [options]

${opts.intro}

${opts.noun}s:
${opts.subcommands.map(([n, s]) => `  ${n.padEnd(width)}  ${s.line}`).join('\n')}

'buddies ${opts.name} <${opts.noun}> --help' prints its options.
Exit: 0 ok, 1 failure (e.g. unreadable input), 2 usage.
`;
  return {
    summary: opts.summary,
    help,
    handlesHelp: true,
    async run(argv, ctx) {
      const [name, ...rest] = argv;
      if (name === undefined) throw new UsageError(`expected a ${opts.noun}: ${names()}`);
      if (name === '--help' || name === '-h' || name === 'help') {
        process.stdout.write(help);
        return 0;
      }
      const sub = opts.subcommands.find(([n]) => n === name)?.[1];
      if (!sub) throw new UsageError(`unknown ${opts.noun} '${name}' (expected ${names()})`);
      const command = await sub.load();
      if (rest[0] === 'help' || wantsHelp(rest)) {
        process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
        return 0;
      }
      try {
        return await command.run(rest, ctx);
      } catch (err) {
        if (err instanceof UsageError) throw new UsageError(`${name}: ${err.message}`);
        throw err;
      }
    },
  };
}
