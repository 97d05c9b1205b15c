import { loadCommands } from './commands.js';
import { UsageError, wantsHelp } from './command.js';

const USAGE = 'usage: buddies <command> [options]   (buddies <command> --help for details)';

/** Entry point of the `buddies` command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const width = Math.max(0, ...[...commands.keys()].map((k) => k.length));
    const lines = [...commands].map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
    const out = `Buddies: real-time recommender of organic playlists.\n\n${USAGE}\n\ncommands:\n${lines.join('\n')}\n`;
    (name === undefined ? process.stderr : process.stdout).write(out);
    return name === undefined ? 2 : 0;
  }
  const command = commands.get(name);
  if (!command) {
    process.stderr.write(`buddies: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  if (wantsHelp(rest) && !command.handlesHelp) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`buddies ${name}: ${err.message}\n(see: buddies ${name} --help)\n`);
      return 2;
    }
    throw err;
  }
}
