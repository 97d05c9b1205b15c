import { createRng, type Rng } from '../models/random.js';
import { createAliasTable, hash32, sampleCdf, unit, zipfCdf } from './random.js';

/**
 * Knobs of a synthetic world. Only `users`, `playlists` and `seed` are required; {@link resolveWorldOptions}
 * fills the rest with defaults shaped after the Million Playlist Dataset and the Taste Profile subset.
 */
export interface WorldOptions {
  /** Number of users (owners, followers, listeners). */
  users: number;
  /** Number of playlists (MPD: 1,000,000). */
  playlists: number;
  /** Any unsigned 32-bit integer; the same seed and options give byte-identical files. */
  seed: number;
  /** Taste communities. Default clamp(round(sqrt(users) / 4), 4, 256). */
  communities?: number;
  /** Catalogue size. Default max(1000, 2 × playlists) (MPD: 2.26M unique tracks for 1M playlists). */
  tracks?: number;
  /** Artists. Default ceil(tracks / 8) (MPD: ~7.6 tracks per artist). */
  artists?: number;
  /** Zipf exponent of track popularity within a community. Default 1.0. */
  trackZipf?: number;
  /** Zipf exponent of artist sizes (tracks per artist) within a community. Default 1.0. */
  artistZipf?: number;
  /** Zipf exponent of community popularity (how many users and how much noise each draws). Default 0.6. */
  communityZipf?: number;
  /** Most communities one user belongs to (1 ≤ k ≤ this; P(1)=.45, P(2)=.35, P(3+)=.2 shared). Default 3. */
  maxCommunitiesPerUser?: number;
  /** Spread (σ of the log) of user activity: how unequal ownership and plays are. Default 1.0. */
  activitySigma?: number;
  /** Mean playlist length (MPD: 66). Default 66. */
  meanPlaylistLength?: number;
  /** Shortest and longest playlist (MPD: 5 and 250). Defaults 5, 250. */
  minPlaylistLength?: number;
  maxPlaylistLength?: number;
  /** Chance a playlist mixes two of its owner's communities instead of one. Default 0.3. */
  mixProbability?: number;
  /** Share of playlist entries and plays drawn from global popularity instead of the taste. Default 0.1. */
  noise?: number;
  /** Pareto tail of followers per playlist (smaller: more followers). Default 1.4. */
  followerAlpha?: number;
  /** Mean distinct tracks per user in triplets.tsv (Taste Profile: ~47). Default 40. */
  playsPerUser?: number;
  /** Mean play count of a (user, track) row. Default 3. */
  meanPlayCount?: number;
  /** Playlists per slice file (MPD: 1000). Default 1000. */
  sliceSize?: number;
  /** modified_at range, Unix seconds. Defaults 2010-01-01 and 2017-11-01 (the MPD's range). */
  startTime?: number;
  endTime?: number;
}

/** {@link WorldOptions} with every default filled in and checked. */
export type WorldConfig = Readonly<Required<WorldOptions>>;

/** Options that make no world (bad counts, ranges, probabilities). */
export class WorldOptionsError extends RangeError {
  override readonly name = 'WorldOptionsError';
}

function need(ok: boolean, message: string): void {
  if (!ok) throw new WorldOptionsError(message);
}

const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(v) && v >= min && v <= max;
const isNum = (v: number, min: number, max = Number.MAX_VALUE) => Number.isFinite(v) && v >= min && v <= max;

/** Fills defaults and validates; throws {@link WorldOptionsError} naming the first bad knob. */
export function resolveWorldOptions(o: WorldOptions): WorldConfig {
  need(isInt(o.users, 1, 50_000_000), `users must be an integer in 1..50M, got ${o.users}`);
  need(isInt(o.playlists, 0, 50_000_000), `playlists must be an integer in 0..50M, got ${o.playlists}`);
  need(isInt(o.seed, 0, 0xffffffff), `seed must be an integer in 0..2^32-1, got ${o.seed}`);
  const communities = o.communities ?? Math.min(256, Math.max(4, Math.round(Math.sqrt(o.users) / 4)));
  need(isInt(communities, 1, 100_000), `communities must be an integer in 1..100000, got ${communities}`);
  const tracks = o.tracks ?? Math.max(1000, 2 * o.playlists);
  need(isInt(tracks, communities, 2 ** 31 - 1), `tracks must be an integer ≥ communities (${communities}), got ${tracks}`);
  const artists = o.artists ?? Math.ceil(tracks / 8);
  need(isInt(artists, communities, tracks), `artists must be an integer in communities..tracks, got ${artists}`);
  const c: Required<WorldOptions> = {
    users: o.users,
    playlists: o.playlists,
    seed: o.seed,
    communities,
    tracks,
    artists,
    trackZipf: o.trackZipf ?? 1.0,
    artistZipf: o.artistZipf ?? 1.0,
    communityZipf: o.communityZipf ?? 0.6,
    maxCommunitiesPerUser: o.maxCommunitiesPerUser ?? 3,
    activitySigma: o.activitySigma ?? 1.0,
    meanPlaylistLength: o.meanPlaylistLength ?? 66,
    minPlaylistLength: o.minPlaylistLength ?? 5,
    maxPlaylistLength: o.maxPlaylistLength ?? 250,
    mixProbability: o.mixProbability ?? 0.3,
    noise: o.noise ?? 0.1,
    followerAlpha: o.followerAlpha ?? 1.4,
    playsPerUser: o.playsPerUser ?? 40,
    meanPlayCount: o.meanPlayCount ?? 3,
    sliceSize: o.sliceSize ?? 1000,
    startTime: o.startTime ?? 1262304000,
    endTime: o.endTime ?? 1509494400,
  };
  for (const k of ['trackZipf', 'artistZipf', 'communityZipf', 'activitySigma'] as const) need(isNum(c[k], 0, 10), `${k} must be in 0..10, got ${c[k]}`);
  for (const k of ['mixProbability', 'noise'] as const) need(isNum(c[k], 0, 1), `${k} must be a probability in 0..1, got ${c[k]}`);
  need(isInt(c.maxCommunitiesPerUser, 1, Math.min(16, communities)), `maxCommunitiesPerUser must be an integer in 1..min(16, communities), got ${c.maxCommunitiesPerUser}`);
  need(isInt(c.minPlaylistLength, 1, 10_000), `minPlaylistLength must be an integer ≥ 1, got ${c.minPlaylistLength}`);
  need(isInt(c.maxPlaylistLength, c.minPlaylistLength, 10_000), `maxPlaylistLength must be an integer in minPlaylistLength..10000, got ${c.maxPlaylistLength}`);
  need(isNum(c.meanPlaylistLength, c.minPlaylistLength, c.maxPlaylistLength), `meanPlaylistLength must lie between min and max playlist length, got ${c.meanPlaylistLength}`);
  need(isNum(c.followerAlpha, 0.5, 10), `followerAlpha must be in 0.5..10, got ${c.followerAlpha}`);
  need(isNum(c.playsPerUser, 0, 100_000), `playsPerUser must be in 0..100000, got ${c.playsPerUser}`);
  need(isNum(c.meanPlayCount, 1, 1_000_000), `meanPlayCount must be ≥ 1, got ${c.meanPlayCount}`);
  need(isInt(c.sliceSize, 1, 1_000_000), `sliceSize must be an integer ≥ 1, got ${c.sliceSize}`);
  need(isInt(c.startTime, 0) && isInt(c.endTime, c.startTime), `need 0 ≤ startTime ≤ endTime, got ${c.startTime}..${c.endTime}`);
  return Object.freeze(c);
}

// Stream keys: every random choice is seeded by (world seed, key, entity index), so entities are independent
// of each other and of generation order.
const K_TRACK = 1;
const K_ARTIST = 2;
const K_ALBUM = 3;
const K_USER = 4;
const K_PLAYLIST = 5;
const K_PLAYS = 6;
const K_NAME = 7;
const K_DURATION = 8;
const K_COMMUNITY = 9;

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ODD = 0x2c1b3c6d;
const ODD_INV = (() => {
  let inv = ODD;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(ODD, inv));
  return inv >>> 0;
})();

/** An invertible scramble of a 32-bit index, so URIs look random but decode back to their index. */
function scramble(i: number, key: number): number {
  const y = Math.imul((i ^ key) >>> 0, ODD) >>> 0;
  return (y ^ (y >>> 16)) >>> 0;
}
function unscramble(z: number, key: number): number {
  const y = (z ^ (z >>> 16)) >>> 0;
  return (Math.imul(y, ODD_INV) ^ key) >>> 0;
}

/** 22 base62 characters: 6 encode the scrambled index, 16 are hash filler (like a Spotify id). */
function spotifyId(index: number, seed: number, kind: number): string {
  // built from char codes in one go: a `+=` loop would leave a 22-deep rope that every later join re-walks
  const codes = new Array<number>(22);
  let z = scramble(index, hash32(seed, kind));
  for (let i = 0; i < 6; i++) {
    codes[i] = B62.charCodeAt(z % 62);
    z = Math.floor(z / 62);
  }
  for (let j = 0; j < 4; j++) {
    let h = hash32(seed, kind, index, j);
    for (let i = 0; i < 4; i++) {
      codes[6 + j * 4 + i] = B62.charCodeAt((h & 63) % 62);
      h >>>= 6;
    }
  }
  return String.fromCharCode(...codes);
}

function decodeSpotifyId(id: string, seed: number, kind: number): number | undefined {
  if (id.length !== 22) return undefined;
  let z = 0;
  for (let i = 5; i >= 0; i--) {
    const d = B62.indexOf(id[i] as string);
    if (d < 0) return undefined;
    z = z * 62 + d;
  }
  if (z > 0xffffffff) return undefined;
  return unscramble(z, hash32(seed, kind));
}

// Names are built from these syllables only, so they never need JSON escaping.
const SYL = ['ka', 'lo', 'mi', 'ra', 've', 'zu', 'an', 'el', 'or', 'ti', 'sa', 'no', 'bri', 'da', 'fe', 'gu', 'ho', 'ji', 'ku', 'le', 'ma', 'ne', 'po', 'qui', 'ru', 'si', 'ta', 'vo', 'wy', 'xa', 'yo', 'ze', 'bel', 'cor', 'dun', 'fal', 'gor', 'hal', 'lin', 'mor', 'nar', 'pel', 'ros', 'sol', 'tam', 'vel', 'win', 'zar'];
const GENRES = ['pop', 'wave', 'core', 'folk', 'step', 'house', 'jazz', 'rock', 'soul', 'trap', 'dub', 'grass', 'beat', 'punk', 'tronica', 'metal'];
const MOODS = ['chill', 'party', 'workout', 'roadtrip', 'study', 'summer', 'vibes', 'throwbacks', 'sleep', 'morning', 'rainy day', 'feels', 'gym', 'drive', 'favorites', 'new'];

function word(h: number): string {
  const n = 2 + (h & 1);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(SYL[(h >>> (1 + i * 6)) % SYL.length] as string);
  const w = parts.join('');
  return (w[0] as string).toUpperCase() + w.slice(1);
}

function words(seed: number, kind: number, index: number, min: number, max: number): string {
  const h0 = hash32(seed, K_NAME, kind, index);
  const n = min + (h0 % (max - min + 1));
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(word(hash32(seed, K_NAME, kind, index * 8 + i + 1)));
  return out.join(' ');
}

/** Everything about one catalogue track, derived from its index by hashing (nothing is stored). */
export interface TrackMeta {
  readonly index: number;
  readonly community: number;
  /** Popularity rank within its community (0 = most popular). */
  readonly rank: number;
  readonly uri: string;
  readonly name: string;
  readonly artist: number;
  readonly artistUri: string;
  readonly artistName: string;
  readonly album: number;
  readonly albumUri: string;
  readonly albumName: string;
  readonly durationMs: number;
}

/** One user's hidden taste: communities with weights summing to 1, strongest first. */
export interface UserTaste {
  readonly index: number;
  readonly id: string;
  readonly communities: readonly number[];
  readonly weights: readonly number[];
  /** Relative activity (lognormal, mean ≈ 1): how many playlists they own and tracks they play. */
  readonly activity: number;
}

/**
 * The deterministic rules of a world: what every track, artist and user is, computed on demand from the
 * seed. Holds only O(communities + tracks-per-community) state (the popularity tables), never per-entry data.
 */
export interface WorldModel {
  readonly config: WorldConfig;
  readonly communityNames: readonly string[];
  /** Share of users and of global plays per community (sums to 1). */
  readonly communityPopularity: readonly number[];
  track(index: number): TrackMeta;
  /** The catalogue index of a track URI of this world, or undefined. */
  trackIndexOfUri(uri: string): number | undefined;
  /** Number of catalogue tracks in a community. */
  communitySize(community: number): number;
  /** A track of the community, drawn by Zipf popularity. */
  sampleTrack(community: number, rng: Rng): number;
  /** A community drawn by popularity. */
  sampleCommunity(rng: Rng): number;
  user(index: number): UserTaste;
  userId(index: number): string;
  /** The user index of an id from {@link userId}, or undefined. */
  userIndexOfId(id: string): number | undefined;
}

export function createWorldModel(options: WorldOptions): WorldModel {
  const config = resolveWorldOptions(options);
  const { seed, communities: K, tracks: T, artists: A } = config;
  const perCommunity = Math.ceil(T / K);
  const artistsPerCommunity = Math.max(1, Math.floor(A / K));
  const trackCdf = zipfCdf(perCommunity, config.trackZipf);
  const artistCdf = zipfCdf(artistsPerCommunity, config.artistZipf);
  const popWeights = Array.from({ length: K }, (_, c) => 1 / Math.pow(c + 1, config.communityZipf));
  const popTotal = popWeights.reduce((a, b) => a + b, 0);
  const communityPopularity = popWeights.map((w) => w / popTotal);
  const communityAlias = createAliasTable(popWeights);
  const communityNames = Array.from({ length: K }, (_, c) => {
    const h = hash32(seed, K_COMMUNITY, c);
    return `${word(h)}${GENRES[(h >>> 20) % GENRES.length]}`;
  });
  const artistKey = hash32(seed, K_ARTIST);
  const albumKey = hash32(seed, K_ALBUM);

  const artistOf = (index: number): number => {
    const local = sampleCdf(artistCdf, unit(hash32(seed, K_ARTIST, index)));
    return local * K + (index % K);
  };

  const track = (index: number): TrackMeta => {
    const community = index % K;
    const artist = artistOf(index);
    const albums = 1 + (hash32(artistKey, artist) % 6);
    const album = artist * 8 + (hash32(albumKey, index) % albums);
    const h1 = hash32(seed, K_DURATION, index);
    const h2 = hash32(seed, K_DURATION, index, 1);
    const normal = Math.sqrt(-2 * Math.log(1 - unit(h1))) * Math.cos(2 * Math.PI * unit(h2));
    const durationMs = Math.min(900_000, Math.max(30_000, Math.round(Math.exp(12.2 + 0.35 * normal))));
    const ah = hash32(seed, K_NAME, K_ARTIST, artist);
    const artistName = ah % 7 === 0 ? `The ${words(seed, K_ARTIST, artist, 1, 1)}` : words(seed, K_ARTIST, artist, 1, 2);
    return {
      index,
      community,
      rank: Math.floor(index / K),
      uri: `spotify:track:${spotifyId(index, seed, K_TRACK)}`,
      name: words(seed, K_TRACK, index, 1, 3),
      artist,
      artistUri: `spotify:artist:${spotifyId(artist, seed, K_ARTIST)}`,
      artistName,
      album,
      albumUri: `spotify:album:${spotifyId(album, seed, K_ALBUM)}`,
      albumName: words(seed, K_ALBUM, album, 1, 3),
      durationMs,
    };
  };

  const sampleTrack = (community: number, rng: Rng): number => {
    for (;;) {
      const rank = sampleCdf(trackCdf, rng.next());
      const index = rank * K + community;
      if (index < T) return index;
    }
  };

  const userWidth = String(config.users - 1).length;
  const userId = (u: number) => `u${String(u).padStart(userWidth, '0')}`;

  const user = (u: number): UserTaste => {
    const rng = createRng(hash32(seed, K_USER, u));
    const x = rng.next();
    let k = x < 0.45 ? 1 : x < 0.8 ? 2 : 3 + Math.floor(((x - 0.8) / 0.2) * (config.maxCommunitiesPerUser - 2));
    k = Math.min(k, config.maxCommunitiesPerUser, K);
    const cs: number[] = [];
    for (let tries = 0; cs.length < k && tries < 100; tries++) {
      const c = communityAlias.sample(rng.next(), rng.next());
      if (!cs.includes(c)) cs.push(c);
    }
    const raw = cs.map(() => rng.exponential(1) + 0.05);
    const order = cs.map((c, i) => ({ c, w: raw[i] as number })).sort((a, b) => b.w - a.w || a.c - b.c);
    const sum = order.reduce((a, b) => a + b.w, 0);
    const activity = Math.exp(config.activitySigma * rng.normal() - (config.activitySigma * config.activitySigma) / 2);
    return { index: u, id: userId(u), communities: order.map((o) => o.c), weights: order.map((o) => o.w / sum), activity };
  };

  return {
    config,
    communityNames,
    communityPopularity,
    track,
    trackIndexOfUri(uri) {
      if (!uri.startsWith('spotify:track:')) return undefined;
      const i = decodeSpotifyId(uri.slice(14), seed, K_TRACK);
      if (i === undefined || i >= T) return undefined;
      return spotifyId(i, seed, K_TRACK) === uri.slice(14) ? i : undefined;
    },
    communitySize: (c) => (c < 0 || c >= K ? 0 : Math.floor((T - 1 - c) / K) + 1),
    sampleTrack,
    sampleCommunity: (rng) => communityAlias.sample(rng.next(), rng.next()),
    user,
    userId,
    userIndexOfId(id) {
      if (!/^u\d+$/.test(id)) return undefined;
      const u = Number(id.slice(1));
      return u < config.users && userId(u) === id ? u : undefined;
    },
  };
}

/** A playlist name like a human would give it, from its community and a mood. */
export function playlistName(model: WorldModel, community: number, pid: number): string {
  const h = hash32(model.config.seed, K_NAME, K_PLAYLIST, pid);
  const mood = MOODS[h % MOODS.length] as string;
  const genre = model.communityNames[community] as string;
  switch ((h >>> 8) % 5) {
    case 0:
      return genre;
    case 1:
      return mood;
    case 2:
      return `${mood} ${genre.toLowerCase()}`;
    case 3:
      return `${word(h)} ${mood}`;
    default:
      return mood.toUpperCase();
  }
}

export const STREAM_KEYS = { playlist: K_PLAYLIST, plays: K_PLAYS } as const;
