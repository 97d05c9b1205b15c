import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a file's bytes (hex, first 16 characters): the data version recorded with a run. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex').slice(0, 16);
}

function git(args: string[], cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: 5000 }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** The git commit of `cwd` (with `-dirty` when tracked files changed), or undefined outside a git checkout. */
export async function codeVersion(cwd = '.'): Promise<string | undefined> {
  const head = await git(['rev-parse', '--short=12', 'HEAD'], cwd);
  if (!head) return undefined;
  const status = await git(['status', '--porcelain', '--untracked-files=no'], cwd);
  return status ? `${head}-dirty` : head;
}
