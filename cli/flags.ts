import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.js';

/** Command-line flag helpers shared by every command: bad input is a {@link UsageError} (exit 2). */

/** Strict flags, no positionals; parse errors become usage errors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Strict flags with positionals (e.g. `buddies import mpd DIR`). */
export function parseFlagsAndArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function range(min: number, max: number): string {
  if (max === Infinity) return `≥ ${min}`;
  if (min === -Infinity) return `≤ ${max}`;
  return `in [${min}, ${max}]`;
}

/** An integer flag within [`min`, `max`] (default min 1); required when there is no default. */
export function intFlag(name: string, v: string | undefined, dflt: number | undefined, min = 1, max = Infinity): number {
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${range(min, max)}, got '${v}'`);
  return n;
}

/** A number flag within [`min`, `max`] (give a negative one as --flag=-0.2). */
export function numberFlag(name: string, v: string | undefined, dflt: number, min: number, max = Infinity): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number ${range(min, max)}, got '${v}'`);
  return n;
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(name: string, v: string | undefined, choices: readonly T[], dflt?: T): T {
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required (${choices.join(' or ')})`);
    return dflt;
  }
  if (!choices.includes(v as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

/** A comma-separated list of words from a fixed set. */
export function choiceListFlag<T extends string>(name: string, v: string | undefined, choices: readonly T[], dflt: readonly T[]): T[] {
  if (v === undefined) return [...dflt];
  return v.split(',').map((x) => choiceFlag(name, x.trim(), choices));
}

export function requiredFlag(name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
