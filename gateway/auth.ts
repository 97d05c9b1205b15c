/**
 * Token verification for the gateway, on `jose`: HS256 with a shared secret, RS256 or ES256 with a public key (one or
 * both configured), `exp` and `sub` required, `iss` and `aud` checked when configured. The token's `sub` is the user,
 * `role: "operator"` opens the metrics channel and other users' lists.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { GatewayError } from './errors.js';
import type { Role } from './protocol.js';

/**
 * The secret `buddies gateway` and `buddies gateway token` use when neither BUDDIES_JWT_SECRET nor
 * BUDDIES_JWT_PUBLIC_KEY is set: public, so for a gateway on your own machine only. Anyone can mint tokens with it.
 */
export const LOCAL_DEV_SECRET = 'buddies-local-development-secret-never-use-outside-your-machine';

/** The shortest HS256 secret accepted: the size of the hash (RFC 7518 section 3.2). */
export const MIN_SECRET_BYTES = 32;

export interface AuthOptions {
  /** HS256 shared secret (at least {@link MIN_SECRET_BYTES} bytes). */
  readonly secret?: string;
  /** RS256 or ES256 (P-256) public key or certificate, PEM text. */
  readonly publicKey?: string;
  /** Required `iss` when set. */
  readonly issuer?: string;
  /** Required `aud` when set. */
  readonly audience?: string;
  /** Clock skew allowed on `exp`/`nbf`, seconds (default 0). */
  readonly clockToleranceS?: number;
}

/** Who a verified token speaks for. */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
  /** `exp` in epoch milliseconds. */
  readonly expiresAt: number;
}

export interface TokenVerifier {
  /** The algorithms accepted (from the keys configured). */
  readonly algorithms: readonly string[];
  /** Resolves the token's principal, or rejects with a {@link GatewayError} `bad_token` or `token_expired`. */
  verify(token: string): Promise<Principal>;
}

export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

function publicKeyAlgorithm(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new AuthConfigError(`the JWT public key is ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}: use an RSA key (RS256) or an EC P-256 key (ES256)`);
}

/** Builds a verifier from the keys configured; throws {@link AuthConfigError} on an unusable key at once. */
export function createTokenVerifier(opts: AuthOptions): TokenVerifier {
  const keys = new Map<string, Uint8Array | KeyObject>();
  if (opts.secret !== undefined) {
    const secret = new TextEncoder().encode(opts.secret);
    if (secret.length < MIN_SECRET_BYTES) throw new AuthConfigError(`the JWT secret has ${secret.length} bytes: HS256 needs at least ${MIN_SECRET_BYTES}`);
    keys.set('HS256', secret);
  }
  if (opts.publicKey !== undefined) {
    let key: KeyObject;
    try {
      key = createPublicKey(opts.publicKey);
    } catch (err) {
      throw new AuthConfigError(`the JWT public key is not a PEM public key or certificate (${err instanceof Error ? err.message : String(err)})`);
    }
    keys.set(publicKeyAlgorithm(key), key);
  }
  if (keys.size === 0) throw new AuthConfigError('no JWT key: set a secret (HS256) or a public key (RS256/ES256)');
  const algorithms = [...keys.keys()];
  // jose checks the header's alg against `algorithms` before asking for the key
  const getKey: JWTVerifyGetKey = (header) => keys.get(header.alg ?? '') as Uint8Array | KeyObject;
  return {
    algorithms,
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms, issuer: opts.issuer, audience: opts.audience, requiredClaims: ['exp', 'sub'], clockTolerance: opts.clockToleranceS ?? 0,
        }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new GatewayError('token_expired', 'the token expired: get a new one');
        const why = err instanceof errors.JOSEError ? err.message : 'not a JWT';
        throw new GatewayError('bad_token', `the token does not verify: ${why}`);
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new GatewayError('bad_token', 'the token does not verify: "sub" is empty');
      if (typeof payload.exp !== 'number') throw new GatewayError('bad_token', 'the token does not verify: "exp" is not a number');
      return { userId: payload.sub, role: payload.role === 'operator' ? 'operator' : 'user', expiresAt: payload.exp * 1000 };
    },
  };
}

export interface MintOptions {
  /** HS256 secret to sign with. */
  readonly secret: string;
  readonly userId: string;
  readonly role?: Role;
  /** Lifetime in seconds (default 3600). */
  readonly ttlS?: number;
  readonly issuer?: string;
  readonly audience?: string;
  /** Issue time, epoch ms (default now). */
  readonly now?: number;
}

/** An HS256 token for `userId`: what `buddies gateway token` prints, and what simulated users and tests connect with. */
export async function mintToken(opts: MintOptions): Promise<string> {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const jwt = new SignJWT(opts.role === 'operator' ? { role: 'operator' } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.ttlS ?? 3600));
  if (opts.issuer !== undefined) jwt.setIssuer(opts.issuer);
  if (opts.audience !== undefined) jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}

/** The token of an `Authorization: Bearer ...` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** The JWT settings as config/ reads them (`BuddiesConfig['gateway']['jwt']`). */
export interface JwtSettings {
  readonly secret?: string;
  readonly publicKey?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/**
 * The verifier's options from the configuration: with neither a secret nor a public key set, the local development
 * secret ({@link LOCAL_DEV_SECRET}; `localSecret` true, so the caller can warn).
 */
export function authFromSettings(jwt: JwtSettings): AuthOptions & { readonly localSecret: boolean } {
  const localSecret = jwt.secret === undefined && jwt.publicKey === undefined;
  return { secret: localSecret ? LOCAL_DEV_SECRET : jwt.secret, publicKey: jwt.publicKey, issuer: jwt.issuer, audience: jwt.audience, localSecret };
}

/**
 * The secret to mint tokens with (simulated users, the dashboard, `buddies gateway token`): the configured HS256
 * secret or the local development one. Throws {@link AuthConfigError} when only a public key is configured (tokens
 * then come from the identity provider that holds the private key).
 */
export function mintingSecret(jwt: JwtSettings): string {
  const auth = authFromSettings(jwt);
  if (auth.secret === undefined) throw new AuthConfigError('only BUDDIES_JWT_PUBLIC_KEY is set: tokens come from the holder of its private key (set BUDDIES_JWT_SECRET to mint HS256 tokens here)');
  return auth.secret;
}
