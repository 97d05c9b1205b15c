import type { BuddiesConfig } from '../config/index.js';

/** What `main` hands every command: the configuration, read once, and the output switches. */
export interface CommandContext {
  readonly config: BuddiesConfig;
  /** `--verbose`: failures print their detail (cause, stack) and not only one line. */
  readonly verbose: boolean;
}

/** One `buddies` subcommand. `run` receives the arguments after the command's name. */
export interface Command {
  /** One line for `buddies --help`. */
  readonly summary: string;
  /** Full help text, printed for `buddies NAME --help`. */
  readonly help: string;
  /** True when `run` answers `--help` itself (parent commands: the help of the subcommand asked about). */
  readonly handlesHelp?: boolean;
  /**
   * Parses its flags and calls one function of a package; returns the process exit code. Throws a
   * {@link UsageError} for bad flags or arguments, an {@link InputError} for input it cannot use.
   */
  run(argv: string[], ctx: CommandContext): Promise<number>;
}

/** Bad command-line input: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Input the command cannot use (a missing or empty file, an unwritable output): one line, exit code 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
