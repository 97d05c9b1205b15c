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

/** An integer flag ≥ `min` (default 1); required when there is no default. */
export function intFlag(name: string, v: string | undefined, dflt: number | undefined, min = 1): number {
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

export function numberFlag(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got '${v}'`);
  return n;
}

export function requiredFlag(name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
