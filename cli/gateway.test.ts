import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier, LOCAL_DEV_SECRET } from '../gateway/index.js';
import { main } from './main.js';

/** Runs `buddies ARGS` in-process with `env` over the process environment; returns the exit code and what it printed. */
async function run(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await main(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.env = saved;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('buddies gateway', () => {
  it('prints its help, for the server and for token', async () => {
    for (const args of [['gateway', '--help'], ['gateway', 'token', '--help'], ['gateway', 'help']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/usage: buddies gateway/);
      expect(r.stdout).toMatch(/buddies gateway token USER/);
    }
  });

  it('mints a token that the gateway verifies, with the local secret when none is configured', async () => {
    const r = await run(['gateway', 'token', 'ana', '--operator', '--ttl-s', '120'], { BUDDIES_JWT_SECRET: '', BUDDIES_JWT_PUBLIC_KEY: '' });
    expect(r.code).toBe(0);
    const p = await createTokenVerifier({ secret: LOCAL_DEV_SECRET }).verify(r.stdout.trim());
    expect(p).toMatchObject({ userId: 'ana', role: 'operator' });
    expect(p.expiresAt).toBeLessThanOrEqual(Date.now() + 121_000);
    const secret = 'a-configured-secret-of-at-least-32-bytes';
    const own = await run(['gateway', 'token', 'bo'], { BUDDIES_JWT_SECRET: secret, BUDDIES_JWT_ISSUER: 'iss', BUDDIES_JWT_AUDIENCE: 'aud' });
    expect(await createTokenVerifier({ secret, issuer: 'iss', audience: 'aud' }).verify(own.stdout.trim())).toMatchObject({ userId: 'bo', role: 'user' });
  });

  it('answers bad input with one line and exit 2, a bad setting with exit 2', async () => {
    for (const args of [['gateway', '--port', 'abc'], ['gateway', '--nope'], ['gateway', 'token'], ['gateway', 'token', 'ana', '--ttl-s', '0'], ['gateway', 'token', 'a', 'b']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^buddies gateway: /);
    }
    const short = await run(['gateway', 'token', 'ana'], { BUDDIES_JWT_SECRET: 'short' });
    expect(short).toMatchObject({ code: 2, stderr: expect.stringMatching(/BUDDIES_JWT_SECRET has 5 bytes/) });
    const onlyKey = await run(['gateway', 'token', 'ana'], { BUDDIES_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----', BUDDIES_JWT_SECRET: '' });
    expect(onlyKey.code).toBe(1);
    expect(onlyKey.stderr.trim().split('\n')).toEqual([expect.stringMatching(/only BUDDIES_JWT_PUBLIC_KEY is set/)]);
  });
});
