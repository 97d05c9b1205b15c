// The gateway: WebSocket push of recommendations and metrics, the events API, auth (docs/gateway.md).
export { createGateway, DEFAULT_GATEWAY_LIMITS } from './server.js';
export type { ConnectionStats, Gateway, GatewayLimits, GatewayOptions, GatewayStats } from './server.js';
export { AuthConfigError, authFromSettings, bearerToken, createTokenVerifier, LOCAL_DEV_SECRET, MIN_SECRET_BYTES, mintingSecret, mintToken } from './auth.js';
export type { AuthOptions, JwtSettings, MintOptions, Principal, TokenVerifier } from './auth.js';
export { CLOSE_CODES, ERROR_CODE_NAMES, ERROR_CODES, GatewayError, httpStatus } from './errors.js';
export type { ErrorCode } from './errors.js';
export { CHANNELS, DASHBOARD_PATH, EVENTS_PATH, STREAM_PATH, userRecommendationsPath } from './protocol.js';
export type {
  AckFrame, AuthFrame, Channel, ClientFrame, ClientFrameType, ErrorFrame, EventsAccepted, EventsRequest, FeedbackEventJson, FeedbackFrame, HttpErrorBody,
  ListenEventJson, ListenFrame, MetricsFrame, MetricsSnapshot, MetricsSource, PingFrame, PongFrame, RecommendationsFrame, Role, ServerFrame, StaticAssets,
  SubscribeFrame, UnsubscribeFrame,
} from './protocol.js';
export { createEventValidator, EVENT_LIMITS, parseClientFrame } from './frames.js';
export type { EventValidator, ParsedFrame, Sender } from './frames.js';
export { createLatestLists, recommendationsFrame } from './latest-lists.js';
export type { LatestList, LatestLists, LatestListsOptions } from './latest-lists.js';
export { createReadiness, httpCheck, kafkaCheck, serviceChecks } from './readiness.js';
export type { ReadinessCheck, ReadinessResult } from './readiness.js';
export { createTokenBucket } from './rate-limit.js';
export type { TokenBucket } from './rate-limit.js';
export { createSendQueue } from './send-queue.js';
export type { OutMessage, PushResult, SendQueue, SendQueueOptions, Transport } from './send-queue.js';
