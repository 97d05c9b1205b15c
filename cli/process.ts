import { stopOnSignals } from '../streams/index.js';
import type { Command } from './command.js';
import { parseStartFlags, PROCESSORS, startCommand, startProcessors } from './start.js';

const HELP = `usage: buddies process <${PROCESSORS.join('|')}> [options]

Runs one processor of the live system until SIGTERM or Ctrl-C: the same as buddies start --only NAME, for a
supervisor that runs each processor on its own (one Kubernetes deployment per processor). Options as for
buddies start:

${startCommand.help.slice(startCommand.help.indexOf('options:') + 'options:\n'.length).replace(/^ {2}--only[^\n]*\n/m, '')}`;

export const processCommand: Command = {
  summary: 'run one stream processor (warehouse sink, live recommender, interaction windows) until stopped',
  help: HELP,
  async run(argv, ctx) {
    const flags = parseStartFlags(argv, ctx.config, 'processor');
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const running = await startProcessors(flags, ctx.config, log);
    stopOnSignals(running.flatMap((r) => [r.app, r.health]), { log });
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
