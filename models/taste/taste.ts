/** Kinds of feedback that move a user's taste. */
export type TasteSignal = 'play' | 'like' | 'follow' | 'skip' | 'dismiss';

export const TASTE_SIGNALS: readonly TasteSignal[] = ['play', 'like', 'follow', 'skip', 'dismiss'];

/** One feedback event, already resolved to a vector by the caller (a track's embedding, or a playlist's mean). */
export interface TasteEvent {
  readonly kind: TasteSignal;
  /** Track or playlist id, kept in the recent-items ring. */
  readonly itemId: string;
  /** Unit or raw vector of `dims` numbers; undefined when the item has no embedding (still remembered as recent). */
  readonly vector: Float32Array | undefined;
  /** Epoch milliseconds. */
  readonly at: number;
  /**
   * Multiplier of the kind's weight (default 1, finite and >= 0): offline histories fold an item's play count in
   * here (see models/recommend `historyTaste`); live events leave it out.
   */
  readonly weight?: number;
}

/**
 * A user's taste: bounded memory whatever the history length (one vector, three scalars and a ring
 * of `recentCapacity` items). Treat as immutable: {@link TasteModel.update} returns a new state.
 */
export interface TasteState {
  /** Σ wᵢ·decayᵢ·vᵢ, decayed to `updatedAt`. */
  readonly sum: Float32Array;
  /** Σ |wᵢ|·decayᵢ, decayed to `updatedAt`. */
  readonly mass: number;
  /** Number of positive events ever seen (not decayed): the cold-start signal. */
  readonly positives: number;
  /** Time the sums are decayed to: the latest event's time (epoch ms). */
  readonly updatedAt: number;
  /** Ring of the most recent items, oldest overwritten first. */
  readonly recent: RecentRing;
}

export interface RecentRing {
  readonly items: readonly string[];
  readonly kinds: readonly TasteSignal[];
  readonly at: readonly number[];
  /** Next slot to write. */
  readonly head: number;
}

export interface TasteModelOptions {
  readonly dims: number;
  /** Half-life of the exponential time decay (default 30 days). */
  readonly halfLifeMs?: number;
  /** Weight per feedback kind; positive kinds pull the taste, negative push it away. */
  readonly weights?: Partial<Readonly<Record<TasteSignal, number>>>;
  /** Size of the recent-items ring (default 200). */
  readonly recentCapacity?: number;
  /** Positive events needed before recommendations are personalised (default 3). */
  readonly minSignal?: number;
}

/**
 * Weights per feedback kind. Skips and dismissals push only a little: -0.5 and -1 cost about a third of the
 * click-through in the simulated demo, -0.1 and -0.3 none (README, The main job): the taste is a normalised sum
 * of track vectors that share a common direction, so strong negatives drag it away from what the user likes.
 */
export const DEFAULT_SIGNAL_WEIGHTS: Readonly<Record<TasteSignal, number>> = {
  play: 1,
  like: 2,
  follow: 1.5,
  skip: -0.1,
  dismiss: -0.3,
};

/** Positive events needed before a user's list is personalised (the live recommender's measured setting). */
export const DEFAULT_MIN_SIGNAL = 3;

/** Incremental taste embedding, shared by the live processors and the offline commands. */
export interface TasteModel {
  readonly options: Readonly<Required<TasteModelOptions>> & { readonly weights: Readonly<Record<TasteSignal, number>> };
  empty(): TasteState;
  /**
   * Folds one event in. Events may arrive out of order: an older event is decayed to the state's
   * time, so the result does not depend on arrival order (up to float rounding), except for the
   * order of the recent ring.
   */
  update(state: TasteState, event: TasteEvent): TasteState;
  /** The unit taste vector, or undefined when there is no signal yet. */
  vector(state: TasteState): Float32Array | undefined;
  /** True once the user has enough positive signal to be personalised. */
  hasSignal(state: TasteState): boolean;
  /** Recent items (newest first), optionally only those of some kinds. */
  recentItems(state: TasteState, kinds?: readonly TasteSignal[]): string[];
}

export function createTasteModel(options: TasteModelOptions): TasteModel {
  const dims = options.dims;
  const halfLifeMs = options.halfLifeMs ?? 30 * 24 * 3600 * 1000;
  const recentCapacity = options.recentCapacity ?? 200;
  const minSignal = options.minSignal ?? DEFAULT_MIN_SIGNAL;
  const weights = { ...DEFAULT_SIGNAL_WEIGHTS, ...options.weights };
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  if (!(halfLifeMs > 0)) throw new RangeError(`halfLifeMs must be > 0, got ${halfLifeMs}`);
  if (!Number.isInteger(recentCapacity) || recentCapacity < 0) throw new RangeError(`recentCapacity must be an integer >= 0`);
  if (!Number.isInteger(minSignal) || minSignal < 0) throw new RangeError(`minSignal must be an integer >= 0`);
  for (const k of Object.keys(weights)) {
    if (!TASTE_SIGNALS.includes(k as TasteSignal)) throw new RangeError(`unknown taste signal '${k}'`);
    if (!Number.isFinite(weights[k as TasteSignal])) throw new RangeError(`weight of '${k}' must be finite`);
  }
  const decay = (dt: number): number => Math.pow(2, -dt / halfLifeMs);

  return {
    options: { dims, halfLifeMs, weights, recentCapacity, minSignal },
    empty: () => ({
      sum: new Float32Array(dims),
      mass: 0,
      positives: 0,
      updatedAt: Number.NEGATIVE_INFINITY,
      recent: { items: [], kinds: [], at: [], head: 0 },
    }),
    update(state, event) {
      if (!TASTE_SIGNALS.includes(event.kind)) throw new RangeError(`unknown taste signal '${String(event.kind)}'`);
      if (event.vector && event.vector.length !== dims) throw new RangeError(`event vector has ${event.vector.length} dims, expected ${dims}`);
      const m = event.weight ?? 1;
      if (!(m >= 0 && Number.isFinite(m))) throw new RangeError(`event weight must be finite and >= 0, got ${m}`);
      const w = weights[event.kind] * m;
      const fresh = state.updatedAt === Number.NEGATIVE_INFINITY;
      const later = fresh || event.at >= state.updatedAt;
      const stateScale = later && !fresh ? decay(event.at - state.updatedAt) : 1;
      const eventScale = later ? 1 : decay(state.updatedAt - event.at);
      const sum = new Float32Array(dims);
      let mass = state.mass * stateScale;
      for (let i = 0; i < dims; i++) sum[i] = state.sum[i]! * stateScale;
      if (event.vector && w !== 0) {
        const f = w * eventScale;
        for (let i = 0; i < dims; i++) sum[i]! += f * event.vector[i]!;
        mass += Math.abs(f);
      }
      return {
        sum,
        mass,
        positives: state.positives + (w > 0 && event.vector ? 1 : 0),
        updatedAt: later ? event.at : state.updatedAt,
        recent: pushRecent(state.recent, recentCapacity, event),
      };
    },
    vector(state) {
      let n = 0;
      for (let i = 0; i < dims; i++) n += state.sum[i]! * state.sum[i]!;
      if (n === 0 || state.mass === 0) return undefined;
      const inv = 1 / Math.sqrt(n);
      return state.sum.map((x) => x * inv);
    },
    hasSignal: (state) => state.positives >= minSignal,
    recentItems(state, kinds) {
      const r = state.recent;
      const out: string[] = [];
      const n = r.items.length;
      for (let k = 1; k <= n; k++) {
        const i = (r.head - k + n) % n;
        if (!kinds || kinds.includes(r.kinds[i]!)) out.push(r.items[i]!);
      }
      return out;
    },
  };
}

function pushRecent(r: RecentRing, capacity: number, e: TasteEvent): RecentRing {
  if (capacity === 0) return r;
  const items = [...r.items];
  const kinds = [...r.kinds];
  const at = [...r.at];
  if (items.length < capacity) {
    items.push(e.itemId);
    kinds.push(e.kind);
    at.push(e.at);
    return { items, kinds, at, head: items.length % capacity };
  }
  items[r.head] = e.itemId;
  kinds[r.head] = e.kind;
  at[r.head] = e.at;
  return { items, kinds, at, head: (r.head + 1) % capacity };
}
