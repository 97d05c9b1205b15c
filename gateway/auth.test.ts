import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthConfigError, authFromSettings, bearerToken, createTokenVerifier, LOCAL_DEV_SECRET, mintingSecret, mintToken } from './auth.js';
import { GatewayError } from './errors.js';

const SECRET = 'a-test-secret-of-more-than-thirty-two-bytes';
const now = () => Math.floor(Date.now() / 1000);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'verified';
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
}

describe('createTokenVerifier', () => {
  it('verifies an HS256 token: sub is the user, role operator only when claimed, exp in ms', async () => {
    const v = createTokenVerifier({ secret: SECRET });
    const user = await v.verify(await mintToken({ secret: SECRET, userId: 'ana', ttlS: 60 }));
    expect(user).toMatchObject({ userId: 'ana', role: 'user' });
    expect(user.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect((await v.verify(await mintToken({ secret: SECRET, userId: 'op', role: 'operator' }))).role).toBe('operator');
    const odd = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime(now() + 60).sign(new TextEncoder().encode(SECRET));
    expect((await v.verify(odd)).role).toBe('user');
  });

  it('answers token_expired for an expired token and bad_token for every other failure', async () => {
    const v = createTokenVerifier({ secret: SECRET });
    expect(await codeOf(v.verify(await mintToken({ secret: SECRET, userId: 'ana', ttlS: 10, now: Date.now() - 60_000 })))).toBe('token_expired');
    expect(await codeOf(v.verify(await mintToken({ secret: `${SECRET}-other`, userId: 'ana' })))).toBe('bad_token');
    expect(await codeOf(v.verify('not.a.jwt'))).toBe('bad_token');
    expect(await codeOf(v.verify('garbage'))).toBe('bad_token');
    const key = new TextEncoder().encode(SECRET);
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('ana').sign(key);
    expect(await codeOf(v.verify(noExp))).toBe('bad_token');
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now() + 60).sign(key);
    expect(await codeOf(v.verify(noSub))).toBe('bad_token');
    const emptySub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('').setExpirationTime(now() + 60).sign(key);
    expect(await codeOf(v.verify(emptySub))).toBe('bad_token');
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('ana').setExpirationTime(now() + 60).sign(key);
    expect(await codeOf(v.verify(hs512))).toBe('bad_token');
  });

  it('checks iss and aud when configured', async () => {
    const v = createTokenVerifier({ secret: SECRET, issuer: 'https://id.example', audience: 'buddies' });
    expect(await codeOf(v.verify(await mintToken({ secret: SECRET, userId: 'ana', issuer: 'https://id.example', audience: 'buddies' })))).toBe('verified');
    expect(await codeOf(v.verify(await mintToken({ secret: SECRET, userId: 'ana', issuer: 'https://evil.example', audience: 'buddies' })))).toBe('bad_token');
    expect(await codeOf(v.verify(await mintToken({ secret: SECRET, userId: 'ana', issuer: 'https://id.example' })))).toBe('bad_token');
  });

  it('verifies RS256 and ES256 with a public key, and refuses an HS256 token signed with that public key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const [pair, alg] of [[rsa, 'RS256'], [ec, 'ES256']] as const) {
      const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const v = createTokenVerifier({ publicKey: pem });
      expect(v.algorithms).toEqual([alg]);
      const token = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg }).setSubject('ana').setExpirationTime(now() + 60).sign(pair.privateKey);
      expect(await v.verify(token)).toMatchObject({ userId: 'ana', role: 'operator' });
      // algorithm confusion: the public key (known to all) used as an HMAC secret
      const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('ana').setExpirationTime(now() + 60).sign(new TextEncoder().encode(pem));
      expect(await codeOf(v.verify(forged))).toBe('bad_token');
    }
  });

  it('refuses unusable keys at once', () => {
    expect(() => createTokenVerifier({})).toThrow(AuthConfigError);
    expect(() => createTokenVerifier({ secret: 'short' })).toThrow(/at least 32/);
    expect(() => createTokenVerifier({ publicKey: 'not a pem' })).toThrow(AuthConfigError);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => createTokenVerifier({ publicKey: p384 })).toThrow(/P-256/);
  });
});

describe('settings and helpers', () => {
  it('falls back to the local development secret only when no key is configured', () => {
    expect(authFromSettings({})).toMatchObject({ secret: LOCAL_DEV_SECRET, localSecret: true });
    expect(authFromSettings({ secret: SECRET })).toMatchObject({ secret: SECRET, localSecret: false });
    expect(authFromSettings({ publicKey: 'PEM' })).toMatchObject({ secret: undefined, localSecret: false });
    expect(mintingSecret({})).toBe(LOCAL_DEV_SECRET);
    expect(() => mintingSecret({ publicKey: 'PEM' })).toThrow(AuthConfigError);
  });

  it('reads a Bearer header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer  tok ')).toBe('tok');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
