import type { BuddiesConfig } from '../config/index.js';
import { AuthConfigError, DEFAULT_GATEWAY_LIMITS, mintingSecret, mintToken } from '../gateway/index.js';
import { STREAM_PATH } from '../gateway/index.js';
import { InputError, UsageError } from './command.js';

/** How a command that acts as an app (simulate, loadtest) reaches the gateway: its address and tokens for users. */
export interface GatewayAccess {
  /** The stream endpoint, e.g. `ws://127.0.0.1:8080/v1/stream`. */
  readonly url: string;
  /** The same host's HTTP base, e.g. `http://127.0.0.1:8080`. */
  readonly httpUrl: string;
  /** An HS256 token for a user, signed with the configured secret (BUDDIES_JWT_SECRET, else the local one). */
  token(userId: string): Promise<string>;
  /** The gateway's per-connection message rate and burst (BUDDIES_GATEWAY_RATE, _BURST), which well-behaved clients keep to. */
  readonly rate: { readonly perSecond: number; readonly burst: number };
  /** The gateway's heartbeat interval (BUDDIES_GATEWAY_HEARTBEAT_MS): a connection silent for a few of them is dead. */
  readonly heartbeatMs: number;
}

/**
 * The gateway at `url` (a `ws://`/`wss://` stream URL, or a `host:port`), else the configured one on loopback;
 * tokens signed with the configured secret. A gateway that takes only public-key tokens cannot be reached with
 * tokens minted here: that is a one-line error.
 */
export function gatewayAccess(cfg: BuddiesConfig, url: string | undefined): GatewayAccess {
  const settings = cfg.gateway;
  let stream: URL;
  try {
    const raw = url ?? `ws://127.0.0.1:${settings.port}${STREAM_PATH}`;
    stream = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `ws://${raw}`);
  } catch {
    throw new UsageError(`--url ${url}: expected ws://HOST:PORT${STREAM_PATH}`);
  }
  if (stream.protocol !== 'ws:' && stream.protocol !== 'wss:') throw new UsageError(`--url ${url}: expected a ws:// or wss:// URL`);
  if (stream.pathname === '/' || stream.pathname === '') stream.pathname = STREAM_PATH;
  let secret: string | undefined;
  let noSecret = '';
  try {
    secret = mintingSecret(settings.jwt);
  } catch (err) {
    if (!(err instanceof AuthConfigError)) throw err;
    noSecret = err.message;
  }
  const http = new URL(stream.href);
  http.protocol = stream.protocol === 'wss:' ? 'https:' : 'http:';
  return {
    url: stream.href,
    httpUrl: http.origin,
    async token(userId) {
      if (secret === undefined) throw new InputError(noSecret);
      return mintToken({ secret, userId, ttlS: 24 * 3600, issuer: settings.jwt.issuer, audience: settings.jwt.audience });
    },
    heartbeatMs: settings.limits.heartbeatMs ?? DEFAULT_GATEWAY_LIMITS.heartbeatMs,
    rate: { perSecond: settings.limits.ratePerS ?? DEFAULT_GATEWAY_LIMITS.ratePerS, burst: settings.limits.burst ?? DEFAULT_GATEWAY_LIMITS.burst },
  };
}

/** True when the gateway answers `GET /healthz` within `timeoutMs`. */
export async function gatewayReachable(httpUrl: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
