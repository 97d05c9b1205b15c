/** One `buddies` subcommand. `run` receives the arguments after the command's name. */
export interface Command {
  /** One line for `buddies --help`. */
  readonly summary: string;
  /** Full help text, printed for `buddies NAME --help`. */
  readonly help: string;
  /** True when `run` answers `--help` itself (parent commands: the help of the subcommand asked about). */
  readonly handlesHelp?: boolean;
  /** Returns the process exit code. Throw a {@link UsageError} for bad flags or arguments. */
  run(argv: string[]): Promise<number>;
}

/** Bad command-line input: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
