import { mkdir } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { InputError } from './command.js';

/** Codes that mean "this folder cannot be made here": the user picks another path. */
const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'ENOENT', 'EEXIST']);

/**
 * Makes `dir` and its parents, one level at a time: Node's recursive mkdir never returns for some unusable paths
 * (under /proc, for one). A folder that cannot be made is an {@link InputError} naming it, the reason code and
 * `fix` (what to change: a flag or a variable).
 */
export async function makeDirs(dir: string, fix: string): Promise<void> {
  const parts = resolve(dir).split(sep);
  for (let i = 2; i <= parts.length; i++) {
    const level = parts.slice(0, i).join(sep) || sep;
    try {
      await mkdir(level);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      // EEXIST is fine for a folder; a file of that name is not (the next level says ENOTDIR)
      if (code === 'EEXIST') continue;
      // ENOENT here: a level that exists cannot hold folders (a virtual file system such as /proc)
      if (typeof code === 'string' && UNUSABLE.has(code)) throw new InputError(`cannot make the folder ${dir} (${code}): ${fix}`);
      throw err;
    }
  }
}
