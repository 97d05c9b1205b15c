/**
 * The gateway's wire protocol (docs/gateway.md) as TypeScript types, and the two pluggable parts that other
 * layers hand to `createGateway`: a live metrics source and the dashboard's static assets.
 *
 * Every frame is a JSON text frame with a `type`. Timestamps are epoch milliseconds.
 */
import type { FeedbackEvent, ListenEvent, RecommendationList } from '../streams/index.js';
import type { ErrorCode } from './errors.js';

/** The WebSocket path and the HTTP routes, declared once. */
export const STREAM_PATH = '/v1/stream';
export const EVENTS_PATH = '/v1/events';
export const DASHBOARD_PATH = '/dashboard/';
/** `GET /v1/users/{id}/recommendations`. */
export function userRecommendationsPath(userId: string): string {
  return `/v1/users/${encodeURIComponent(userId)}/recommendations`;
}

/** Channels a client may subscribe to. `metrics` needs an operator token. */
export type Channel = 'recommendations' | 'metrics';
export const CHANNELS: readonly Channel[] = ['recommendations', 'metrics'];

/** A token's role claim: `operator` opens the metrics channel and other users' lists. */
export type Role = 'user' | 'operator';

// ---------------------------------------------------------------- client → server

export interface AuthFrame { readonly type: 'auth'; readonly token: string }
export interface SubscribeFrame {
  readonly type: 'subscribe';
  readonly channel: Channel;
  readonly id?: string;
  /** Another user's list: operator tokens only. Defaults to the token's `sub`. */
  readonly userId?: string;
}
export interface UnsubscribeFrame {
  readonly type: 'unsubscribe';
  readonly channel: Channel;
  readonly id?: string;
  readonly userId?: string;
}
/**
 * Feedback as JSON: FeedbackEvent fields, with `userId` optional (it must equal the token's `sub` when given)
 * and nullable fields optional.
 */
export type FeedbackEventJson = Omit<FeedbackEvent, 'userId' | 'trackId' | 'playlistId' | 'recommendationId' | 'position'> & {
  readonly userId?: string;
  readonly trackId?: string | null;
  readonly playlistId?: string | null;
  readonly recommendationId?: string | null;
  readonly position?: number | null;
};
/** A listen as JSON: ListenEvent fields, `userId` optional (must equal `sub`), nullable fields optional. */
export type ListenEventJson = Omit<ListenEvent, 'userId' | 'playlistId' | 'recommendationId'> & {
  readonly userId?: string;
  readonly playlistId?: string | null;
  readonly recommendationId?: string | null;
};
export interface FeedbackFrame { readonly type: 'feedback'; readonly id?: string; readonly event: FeedbackEventJson }
export interface ListenFrame { readonly type: 'listen'; readonly id?: string; readonly event: ListenEventJson }
export interface PingFrame { readonly type: 'ping'; readonly id?: string }

export type ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | FeedbackFrame | ListenFrame | PingFrame;
export type ClientFrameType = ClientFrame['type'];

// ---------------------------------------------------------------- server → client

/** A user's current list, exactly the RecommendationList record plus `type`. */
export type RecommendationsFrame = { readonly type: 'recommendations' } & Readonly<RecommendationList>;
export type MetricsFrame = { readonly type: 'metrics' } & MetricsSnapshot;
export interface AckFrame {
  readonly type: 'ack';
  readonly of: 'auth' | 'subscribe' | 'unsubscribe' | 'feedback' | 'listen';
  readonly id?: string;
}
export interface PongFrame { readonly type: 'pong'; readonly id?: string }
export interface ErrorFrame {
  readonly type: 'error';
  /** A code from gateway/errors.ts (the same table serves HTTP). */
  readonly code: ErrorCode;
  /** One line. */
  readonly message: string;
  readonly id?: string;
  /** For `bad_event`: the path of the field that failed, e.g. `event.msPlayed`. */
  readonly field?: string;
}

export type ServerFrame = RecommendationsFrame | MetricsFrame | AckFrame | PongFrame | ErrorFrame;

// ---------------------------------------------------------------- HTTP bodies

/** `POST /v1/events` request body. */
export interface EventsRequest {
  readonly events: ReadonlyArray<
    { readonly type: 'listen'; readonly event: ListenEventJson } | { readonly type: 'feedback'; readonly event: FeedbackEventJson }
  >;
}
/** `POST /v1/events` 202 response. */
export interface EventsAccepted { readonly accepted: number }
/** Every HTTP error body. */
export interface HttpErrorBody { readonly error: { readonly code: ErrorCode; readonly message: string; readonly field?: string } }

// ---------------------------------------------------------------- pluggable parts

/**
 * One snapshot of the live metrics. `at` is when it was computed (epoch ms); the other keys are the metrics
 * source's own (the dashboard knows them), and are sent as they are on the metrics channel.
 */
export interface MetricsSnapshot { readonly at: number; readonly [k: string]: unknown }

/**
 * Where the metrics channel's snapshots come from. The gateway calls `latest()` when a client subscribes
 * (to send it at once) and `subscribe(fn)` once at start, pushing every snapshot to every metrics
 * subscriber; the returned function unsubscribes. The gateway does not call `close()`: whoever created the
 * source closes it (after closing the gateway).
 */
export interface MetricsSource {
  latest(): MetricsSnapshot | undefined;
  subscribe(fn: (s: MetricsSnapshot) => void): () => void;
  close(): Promise<void>;
}

/** Static files served as they are; keys are URL paths, e.g. '/dashboard/index.html', '/dashboard/app.js'. */
export type StaticAssets = ReadonlyMap<string, { readonly contentType: string; readonly body: Buffer }>;
