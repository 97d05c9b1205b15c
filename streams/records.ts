/**
 * TypeScript shapes of the Avro records in schemas/*.avsc (one interface per schema). The round-trip
 * integration test encodes a sample of each through the real registry, so a drift between the two fails.
 * Timestamps are epoch milliseconds; Avro unions with null are `| null`.
 */

/** `UNKNOWN` stands for a symbol that a newer writer added (the schemas' enum default). */
export type ListenSource = 'ORGANIC_PLAYLIST' | 'ALGORITHMIC' | 'LIBRARY' | 'SEARCH' | 'RADIO' | 'UNKNOWN';

export interface ListenEvent {
  eventId: string;
  userId: string;
  trackId: string;
  playlistId: string | null;
  source: ListenSource;
  msPlayed: number;
  trackDurationMs: number;
  eventTime: number;
  recommendationId: string | null;
}

export type FeedbackKind =
  | 'LIKE_TRACK' | 'UNLIKE_TRACK' | 'FOLLOW_PLAYLIST' | 'UNFOLLOW_PLAYLIST' | 'SKIP' | 'DISMISS' | 'IMPRESSION' | 'CLICK' | 'UNKNOWN'
  /** The user asked to be forgotten (`buddies forget user`): processors drop all they hold of them. */
  | 'FORGET_USER';

export interface FeedbackEvent {
  eventId: string;
  userId: string;
  kind: FeedbackKind;
  trackId: string | null;
  playlistId: string | null;
  recommendationId: string | null;
  position: number | null;
  eventTime: number;
}

export type PlaylistEventKind = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNKNOWN';

export interface PlaylistEvent {
  eventId: string;
  playlistId: string;
  kind: PlaylistEventKind;
  ownerId: string;
  name: string;
  tracks: string[];
  followers: number;
  organic: boolean;
  eventTime: number;
}

export interface UserTasteEmbedding {
  userId: string;
  vector: number[];
  mass: number;
  eventCount: number;
  embeddingVersion: string;
  updatedAt: number;
  /** Playlists the user follows (most recent first, bounded): candidates for their buddies. */
  follows: string[];
}

export interface Buddy {
  userId: string;
  score: number;
}

export interface UserPairing {
  userId: string;
  buddies: Buddy[];
  modelVersion: string;
  updatedAt: number;
}

export interface PlaylistInteraction {
  playlistId: string;
  weight: number;
  events: number;
}

export interface InteractionWindow {
  userId: string;
  windowStart: number;
  windowEnd: number;
  interactions: PlaylistInteraction[];
}

export interface Explanation {
  buddyId: string | null;
  tasteMatch: number;
  reason: string;
}

export interface RecommendedPlaylist {
  playlistId: string;
  rank: number;
  score: number;
  explanation: Explanation;
}

export interface RecommendationList {
  recommendationId: string;
  userId: string;
  items: RecommendedPlaylist[];
  modelVersion: string;
  coldStart: boolean;
  generatedAt: number;
  /**
   * True for a "Top Picks for Today" list of the daily batch (`buddies trainer top-picks`). Optional for writers (the
   * schema's default, false, is written when absent); always present on a decoded record.
   */
  dailyPick?: boolean;
}

export type ModelKind = 'BPR' | 'TRACK_EMBEDDINGS' | 'PAIRING' | 'UNKNOWN';

export interface ModelAnnouncement {
  modelName: string;
  modelVersion: string;
  kind: ModelKind;
  artifactUri: string;
  backend: string;
  metrics: Record<string, number>;
  trainedAt: number;
}
