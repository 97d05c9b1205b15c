/**
 * Parsing of client frames and validation of the events they (and `POST /v1/events`) carry. Pure: a frame's text
 * in, a typed frame or a {@link GatewayError} out; events are checked against the Avro contracts in schemas/ (the
 * types the serde encodes with) and the rules the schemas cannot say, naming the field that failed.
 */
import avro from 'avsc';
import { readTopicSchema, type FeedbackEvent, type FeedbackKind, type ListenEvent } from '../streams/index.js';
import { GatewayError } from './errors.js';
import { CHANNELS, type Channel, type ClientFrame, type Role } from './protocol.js';

const CLIENT_TYPES = ['auth', 'subscribe', 'unsubscribe', 'feedback', 'listen', 'ping'] as const;
/** Longest `id` a client may tag a frame with. */
export const MAX_ID_LENGTH = 128;

export type ParsedFrame = { readonly frame: ClientFrame } | { readonly error: GatewayError; readonly id?: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(o: Record<string, unknown>, name: string): string | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new GatewayError('malformed_frame', `"${name}" must be a string`);
  return v;
}

/** One client frame from its text: JSON, an object, a known `type`, fields of the right shape. */
export function parseClientFrame(text: string): ParsedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: new GatewayError('malformed_frame', 'the frame is not JSON') };
  }
  if (!isObject(raw)) return { error: new GatewayError('malformed_frame', 'the frame is not a JSON object') };
  const id = typeof raw.id === 'string' && raw.id.length <= MAX_ID_LENGTH ? raw.id : undefined;
  try {
    if (typeof raw.type !== 'string') throw new GatewayError('malformed_frame', 'the frame has no string "type"');
    const type = raw.type;
    if (!(CLIENT_TYPES as readonly string[]).includes(type)) {
      throw new GatewayError('unknown_type', `unknown type '${type.slice(0, 40)}': one of ${CLIENT_TYPES.join(', ')}`);
    }
    if (raw.id !== undefined && (typeof raw.id !== 'string' || raw.id.length > MAX_ID_LENGTH)) {
      throw new GatewayError('malformed_frame', `"id" must be a string of at most ${MAX_ID_LENGTH} characters`);
    }
    const base = id === undefined ? {} : { id };
    switch (type as (typeof CLIENT_TYPES)[number]) {
      case 'auth': {
        const token = raw.token;
        if (typeof token !== 'string' || token === '') throw new GatewayError('malformed_frame', 'auth needs a "token" string');
        return { frame: { type: 'auth', token } };
      }
      case 'subscribe':
      case 'unsubscribe': {
        const channel = raw.channel;
        if (typeof channel !== 'string') throw new GatewayError('malformed_frame', `${type} needs a "channel" string: ${CHANNELS.join(' or ')}`);
        if (!(CHANNELS as readonly string[]).includes(channel)) {
          throw new GatewayError('forbidden_channel', `no channel '${channel.slice(0, 40)}': ${CHANNELS.join(' or ')}`);
        }
        const userId = optionalString(raw, 'userId');
        return { frame: { type: type as 'subscribe', channel: channel as Channel, ...base, ...(userId === undefined ? {} : { userId }) } };
      }
      case 'feedback':
      case 'listen': {
        if (!isObject(raw.event)) throw new GatewayError('bad_event', `${type} needs an "event" object`, 'event');
        return { frame: { type, ...base, event: raw.event } as ClientFrame };
      }
      case 'ping':
        return { frame: { type: 'ping', ...base } };
    }
  } catch (err) {
    if (err instanceof GatewayError) return id === undefined ? { error: err } : { error: err, id };
    throw err;
  }
  throw new Error('unreachable');
}

/** Who sends an event: a user may send their own events only; an operator anyone's. */
export interface Sender {
  readonly userId: string;
  readonly role: Role;
}

export interface EventValidator {
  /**
   * A ListenEvent from its JSON: `userId` defaults to the sender, nullable fields to null. Throws `bad_event` naming
   * the field (under `path`, e.g. `event` or `events[3].event`), or `forbidden` for another user's event.
   */
  listen(json: unknown, sender: Sender, path: string): ListenEvent;
  /** A FeedbackEvent from its JSON, as {@link EventValidator.listen}. */
  feedback(json: unknown, sender: Sender, path: string): FeedbackEvent;
}

export const EVENT_LIMITS = {
  /** How far ahead of the gateway's clock an event may be stamped (a year: beyond, the timestamp is broken). */
  maxFutureMs: 366 * 24 * 3_600_000,
  /** The longest track a listen may report (24 hours). */
  maxTrackDurationMs: 24 * 3_600_000,
} as const;

/** Kinds an app may send: UNKNOWN is for newer writers' symbols, FORGET_USER for `buddies forget user`. */
const CLIENT_KINDS: ReadonlySet<FeedbackKind> = new Set(['LIKE_TRACK', 'UNLIKE_TRACK', 'FOLLOW_PLAYLIST', 'UNFOLLOW_PLAYLIST', 'SKIP', 'DISMISS', 'IMPRESSION', 'CLICK']);
const PLAYLIST_KINDS: ReadonlySet<FeedbackKind> = new Set(['FOLLOW_PLAYLIST', 'UNFOLLOW_PLAYLIST', 'DISMISS', 'CLICK', 'IMPRESSION']);
const TRACK_KINDS: ReadonlySet<FeedbackKind> = new Set(['LIKE_TRACK', 'UNLIKE_TRACK']);

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** The branches of a union type (avsc's two union classes), or undefined for any other type. */
function unionBranches(t: avro.Type): readonly avro.Type[] | undefined {
  return t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType ? (t as unknown as { types: avro.Type[] }).types : undefined;
}

function typeName(t: avro.Type): string {
  const branches = unionBranches(t);
  if (branches) return branches.map(typeName).join(' or ');
  if (t instanceof avro.types.EnumType) return `one of ${t.symbols.join(', ')}`;
  return t.typeName;
}

/**
 * Reads the listen and feedback schemas from `schemasDir` (the files the serde registers). `now` is the clock for
 * the future-time rule.
 */
export function createEventValidator(schemasDir: string, now: () => number = Date.now): EventValidator {
  const types = {
    listens: avro.Type.forSchema(readTopicSchema(schemasDir, 'listens')) as avro.types.RecordType,
    feedback: avro.Type.forSchema(readTopicSchema(schemasDir, 'feedback')) as avro.types.RecordType,
  };

  function record(which: keyof typeof types, json: unknown, sender: Sender, path: string): Record<string, unknown> {
    if (!isObject(json)) throw new GatewayError('bad_event', `${path} must be an object`, path);
    const type = types[which];
    const fields = new Map(type.fields.map((f) => [f.name, f]));
    for (const k of Object.keys(json)) {
      if (!fields.has(k)) throw new GatewayError('bad_event', `${path}.${k}: no such field in ${type.name}`, `${path}.${k}`);
    }
    const out: Record<string, unknown> = {};
    for (const [name, f] of fields) {
      const v = json[name];
      out[name] = v === undefined && unionBranches(f.type)?.[0]?.typeName === 'null' ? null : v;
    }
    if (json.userId === undefined) out.userId = sender.userId;
    else if (typeof json.userId === 'string' && json.userId !== sender.userId && sender.role !== 'operator') {
      throw new GatewayError('forbidden', `${path}.userId '${json.userId}' is not the token's user '${sender.userId}'`, `${path}.userId`);
    }
    let bad: { path: string; value: unknown; type: avro.Type } | undefined;
    type.isValid(out, { errorHook: (p, value, t) => { bad ??= { path: p.join('.'), value, type: t }; } });
    if (bad) {
      const field = bad.path === '' ? path : `${path}.${bad.path}`;
      throw new GatewayError('bad_event', `${field}: expected ${typeName(bad.type)}, got ${describe(bad.value)}`, field);
    }
    const rule = (name: string, ok: boolean, why: string) => {
      if (!ok) throw new GatewayError('bad_event', `${path}.${name}: ${describe(out[name])} ${why}`, `${path}.${name}`);
    };
    rule('eventId', out.eventId !== '', 'is empty');
    rule('userId', out.userId !== '', 'is empty');
    const t = out.eventTime as number;
    rule('eventTime', t >= 0, 'is before the epoch (epoch milliseconds expected)');
    rule('eventTime', t <= now() + EVENT_LIMITS.maxFutureMs, 'is more than a year ahead (epoch milliseconds expected)');
    return out;
  }

  return {
    listen(json, sender, path) {
      const e = record('listens', json, sender, path) as unknown as ListenEvent;
      const rule = (name: keyof ListenEvent, ok: boolean, why: string) => {
        if (!ok) throw new GatewayError('bad_event', `${path}.${name}: ${describe(e[name])} ${why}`, `${path}.${name}`);
      };
      rule('trackId', e.trackId !== '', 'is empty');
      rule('trackDurationMs', e.trackDurationMs > 0, 'must be > 0');
      rule('trackDurationMs', e.trackDurationMs <= EVENT_LIMITS.maxTrackDurationMs, `must be at most ${EVENT_LIMITS.maxTrackDurationMs} (24 h)`);
      rule('msPlayed', e.msPlayed >= 0, 'must be >= 0');
      return e;
    },
    feedback(json, sender, path) {
      const e = record('feedback', json, sender, path) as unknown as FeedbackEvent;
      const rule = (name: keyof FeedbackEvent, ok: boolean, why: string) => {
        if (!ok) throw new GatewayError('bad_event', `${path}.${name}: ${describe(e[name])} ${why}`, `${path}.${name}`);
      };
      rule('kind', CLIENT_KINDS.has(e.kind), `is not accepted from apps: one of ${[...CLIENT_KINDS].join(', ')}`);
      if (PLAYLIST_KINDS.has(e.kind)) rule('playlistId', e.playlistId !== null && e.playlistId !== '', `is required for ${e.kind}`);
      if (TRACK_KINDS.has(e.kind)) rule('trackId', e.trackId !== null && e.trackId !== '', `is required for ${e.kind}`);
      rule('position', e.position === null || e.position >= 0, 'must be >= 0');
      return e;
    },
  };
}
