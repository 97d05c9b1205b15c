import { ConfigError, loadConfig } from '../config/index.js';
import { loadCommands } from './commands.js';
import { UsageError, wantsHelp } from './command.js';
import { describeFailure } from './failure.js';

const USAGE = 'usage: buddies [--verbose] <command> [options]   (buddies <command> --help for details)';

/**
 * Entry point of the `buddies` command; returns the exit code. The one place that reads the environment:
 * the configuration is loaded here, once, and handed to the command.
 */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  const commands = await loadCommands();
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const width = Math.max(0, ...[...commands.keys()].map((k) => k.length));
    const lines = [...commands].map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
    const out = `Buddies: real-time recommender of organic playlists.\n\n${USAGE}\n\ncommands:\n${lines.join('\n')}\n\n`
      + `  --verbose  on failure, print the detail (cause and stack) after the one-line message\n`;
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
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`buddies: ${err.message} (see the Configuration section of the README)\n`);
    return 2;
  }
  try {
    return await command.run(rest, { config, verbose });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`buddies ${name}: ${err.message}\n(see: buddies ${name} --help)\n`);
      return 2;
    }
    const failure = describeFailure(err, config);
    process.stderr.write(`buddies ${name}: ${failure.line}\n`);
    if (verbose) process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n${causes(err)}`);
    else if (!failure.expected) process.stderr.write('(run again with --verbose for the detail)\n');
    return 1;
  }
}

function causes(err: unknown): string {
  let out = '';
  for (let c = (err as { cause?: unknown })?.cause, depth = 0; c !== undefined && depth < 5; c = (c as { cause?: unknown })?.cause, depth++) {
    out += `caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}\n`;
  }
  return out;
}
