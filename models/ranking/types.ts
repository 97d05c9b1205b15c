/** What ranking needs to know about one playlist. */
export interface PlaylistInfo {
  readonly id: string;
  readonly owner: string;
  /** Track ids, deduplicated. */
  readonly tracks: readonly string[];
  readonly followers: number;
  /** Recent engagement (plays, follows in a recent window), for cold start. */
  readonly engagement: number;
  /** Human-made (false for editorial or algorithmic playlists, which are never recommended). */
  readonly organic: boolean;
  /** Mean of the unit embeddings of its tracks (not normalised: its norm says how coherent it is); undefined when none has one. */
  readonly centroid: Float32Array | undefined;
}

/** Read access to the playlist world; implemented over in-memory maps offline and over state stores live. */
export interface PlaylistCatalog {
  get(id: string): PlaylistInfo | undefined;
  /** Playlists the user made. */
  madeBy(user: string): readonly string[];
  /** Playlists the user follows. */
  followedBy(user: string): readonly string[];
  /** Playlist ids by popularity, most popular first (at least `limit` of them when there are). */
  popular(limit: number): readonly string[];
}

/** The user being recommended to. */
export interface RankingUser {
  readonly id: string;
  /** Unit taste vector; undefined without signal. */
  readonly taste: Float32Array | undefined;
  /** True once the user has enough signal to be personalised (see TasteModel.hasSignal). */
  readonly hasSignal: boolean;
  /** Tracks the user has heard (history, or the recent ring live). */
  heard(trackId: string): boolean;
  /** Playlists never to recommend: owned, followed, dismissed, recently shown without reaction. */
  readonly excluded: ReadonlySet<string>;
}

export interface RankedBuddy {
  readonly id: string;
  /** Taste similarity (cosine). */
  readonly score: number;
}

export interface ScoreComponents {
  readonly bpr: number;
  readonly familiarity: number;
  readonly novelty: number;
  readonly buddy: number;
  readonly support: number;
  readonly cooccurrence: number;
  readonly popularity: number;
}

export interface RankingExplanation {
  readonly reason: 'buddy' | 'popular';
  /** The buddy who made or follows it (the most similar one when several do). */
  readonly buddy?: string;
  readonly relation?: 'made' | 'follows';
  /** Cosine of the user's taste and the playlist's centroid, as a percentage 0–100. */
  readonly tasteMatch: number;
  /** The live freshness slot: a playlist the buddy made very recently (its `tasteMatch` is the buddy's). */
  readonly fresh?: boolean;
}

export interface Recommendation {
  readonly playlistId: string;
  readonly score: number;
  readonly components: ScoreComponents;
  readonly explanation: RankingExplanation;
}
