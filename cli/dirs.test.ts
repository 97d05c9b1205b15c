import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from './command.js';
import { makeDirs } from './dirs.js';

describe('makeDirs', () => {
  const root = mkdtempSync(join(tmpdir(), 'buddies-dirs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes a folder and its parents, and again is a no-op', async () => {
    const dir = join(root, 'a', 'b', 'c');
    await makeDirs(dir, 'pick another');
    await makeDirs(dir, 'pick another');
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it('says which folder cannot be made and what to do, under a file and under /proc (where recursive mkdir hangs)', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await expect(makeDirs(join(root, 'file', 'sub'), 'use --out')).rejects.toThrow(new InputError(`cannot make the folder ${join(root, 'file', 'sub')} (ENOTDIR): use --out`));
    await expect(makeDirs('/proc/buddies-x/y', 'use --out')).rejects.toBeInstanceOf(InputError);
  });
});
