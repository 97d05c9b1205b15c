import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import { createRng } from '../models/random.js';
import { createAliasTable, hash32 } from './random.js';
import { createWorldModel, playlistName, STREAM_KEYS, type WorldConfig, type WorldModel, type WorldOptions } from './world.js';

/** What to generate and where. */
export interface GenerateOptions extends WorldOptions {
  /** Output folder (created). Must not hold a world already unless `overwrite`. */
  out: string;
  /** Delete the world files (slices, triplets, owners, follows, truth/, world.json) already in `out` first. Default false. */
  overwrite?: boolean;
  /** Write `mpd.slice.*.json.gz` and `triplets.tsv.gz` instead of plain files. Default false. */
  gzip?: boolean;
  /** Called after every slice and every 10,000 users of each phase; must not throw. */
  onProgress?: (p: GenerateProgress) => void;
}

export type GeneratePhase = 'users' | 'playlists' | 'plays' | 'tracks';

export interface GenerateProgress {
  readonly phase: GeneratePhase;
  readonly done: number;
  readonly total: number;
  /** Playlist entries written so far (playlists phase) or triplet rows (plays phase). */
  readonly rows: number;
}

/** Counts and files of a generated world (also written to `world.json`). */
export interface GenerateSummary {
  readonly config: WorldConfig;
  readonly counts: {
    readonly users: number;
    readonly playlists: number;
    readonly entries: number;
    readonly uniqueTracks: number;
    readonly follows: number;
    readonly triplets: number;
    readonly slices: number;
  };
  /** Every file, relative to `out`, with its size in bytes, in write order. */
  readonly files: ReadonlyArray<{ readonly path: string; readonly bytes: number }>;
  readonly bytes: number;
}

const WORLD_FILE = /^(mpd\.slice\..+\.json(\.gz)?|triplets\.tsv(\.gz)?|owners\.tsv|follows\.tsv|world\.json|truth)$/;

/** A world left in `out` by an earlier run would mix with the new one (stale slices): refuse, or delete it. */
async function clearOut(out: string, overwrite: boolean): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(out)).filter((n) => WORLD_FILE.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (names.length === 0) return;
  if (!overwrite) throw new WorldExistsError(`${out} already holds a world (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}); pass overwrite (--force) to replace it`);
  for (const n of names) await rm(join(out, n), { recursive: true, force: true });
}

/** The output folder already holds generated files and `overwrite` was not set. */
export class WorldExistsError extends Error {
  override readonly name = 'WorldExistsError';
}

/** Buffered line sink with back-pressure: memory stays at one chunk plus the stream's high-water mark. */
class Sink {
  private chunks: string[] = [];
  private size = 0;
  private readonly file: WriteStream;
  private readonly head: WriteStream | Gzip;

  constructor(
    readonly path: string,
    gzip: boolean,
  ) {
    this.file = createWriteStream(path);
    if (gzip) {
      const gz = createGzip({ level: 6 });
      gz.pipe(this.file);
      this.head = gz;
    } else this.head = this.file;
  }

  async write(s: string): Promise<void> {
    this.chunks.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.size = 0;
    if (!this.head.write(data)) await once(this.head, 'drain');
  }

  /** Flushes, closes and returns the file's size on disk. */
  async close(): Promise<number> {
    await this.flush();
    const finished = once(this.file, 'close');
    this.head.end();
    await finished;
    return (await stat(this.path)).size;
  }
}

interface Members {
  readonly start: Int32Array;
  readonly users: Int32Array;
  readonly weights: Float32Array;
}

const r4 = (x: number) => x.toFixed(4);

/**
 * Writes a synthetic world: MPD slices (full schema), Taste Profile triplets and the planted truth, streaming
 * with bounded memory (per-user taste tables, popularity tables and one buffered chunk per open file).
 * Deterministic: the same options give byte-identical files.
 */
export async function generateWorld(options: GenerateOptions): Promise<GenerateSummary> {
  const model = createWorldModel(options);
  const cfg = model.config;
  const gzip = options.gzip ?? false;
  const progress = options.onProgress ?? (() => {});
  const out = options.out;
  await clearOut(out, options.overwrite ?? false);
  await mkdir(join(out, 'truth'), { recursive: true });
  const files: Array<{ path: string; bytes: number }> = [];
  const open = (rel: string, gz = false) => ({ rel, sink: new Sink(join(out, rel), gz) });
  const close = async (f: { rel: string; sink: Sink }) => {
    files.push({ path: f.rel, bytes: await f.sink.close() });
  };

  // Users: taste (truth), activity (who owns and plays most) and community member lists (who follows).
  const K = cfg.communities;
  const activity = new Float64Array(cfg.users);
  const counts = new Int32Array(K + 1);
  const usersFile = open('truth/users.jsonl');
  for (let u = 0; u < cfg.users; u++) {
    const t = model.user(u);
    activity[u] = t.activity;
    for (const c of t.communities) counts[c + 1] = (counts[c + 1] as number) + 1;
    await usersFile.sink.write(`{"user":"${t.id}","communities":[${t.communities.join(',')}],"weights":[${t.weights.map(r4).join(',')}],"activity":${r4(t.activity)}}\n`);
    if ((u + 1) % 10_000 === 0) progress({ phase: 'users', done: u + 1, total: cfg.users, rows: 0 });
  }
  await close(usersFile);
  for (let c = 0; c < K; c++) counts[c + 1] = (counts[c + 1] as number) + (counts[c] as number);
  const members: Members = { start: counts, users: new Int32Array(counts[K] as number), weights: new Float32Array(counts[K] as number) };
  const fill = counts.slice(0, K);
  for (let u = 0; u < cfg.users; u++) {
    const t = model.user(u);
    t.communities.forEach((c, i) => {
      const at = fill[c] as number;
      members.users[at] = u;
      members.weights[at] = t.weights[i] as number;
      fill[c] = at + 1;
    });
  }
  const communitiesFile = open('truth/communities.jsonl');
  for (let c = 0; c < K; c++) {
    await communitiesFile.sink.write(
      `{"community":${c},"name":"${model.communityNames[c]}","popularity":${(model.communityPopularity[c] as number).toFixed(6)},"tracks":${model.communitySize(c)},"members":${(counts[c + 1] as number) - (counts[c] as number)}}\n`,
    );
  }
  await close(communitiesFile);

  // Playlists, in slices, with their owners, follows and intended communities.
  const ownerAlias = createAliasTable(activity);
  const owners = open('owners.tsv');
  const follows = open('follows.tsv');
  const playlistTruth = open('truth/playlists.tsv');
  const seen = new Uint8Array(Math.ceil(cfg.tracks / 8));
  const fragments = new TrackFragments(model);
  let entries = 0;
  let followCount = 0;
  let slices = 0;
  for (let first = 0; first < cfg.playlists; first += cfg.sliceSize) {
    const last = Math.min(cfg.playlists, first + cfg.sliceSize) - 1;
    const name = `mpd.slice.${first}-${last}.json${gzip ? '.gz' : ''}`;
    const slice = open(name, gzip);
    await slice.sink.write(`{"info":{"generated_on":"buddies generate, seed ${cfg.seed}","slice":"${first}-${last}","version":"v1"},"playlists":[\n`);
    for (let pid = first; pid <= last; pid++) {
      const p = makePlaylist(model, ownerAlias, members, fragments, pid);
      await slice.sink.write(pid < last ? `${p.json},\n` : `${p.json}\n`);
      await owners.sink.write(`${pid}\t${model.userId(p.owner)}\n`);
      await playlistTruth.sink.write(`${pid}\t${p.primary}\t${p.secondary < 0 ? '-' : p.secondary}\t${r4(p.share)}\n`);
      for (const f of p.followers) await follows.sink.write(`${model.userId(f)}\t${pid}\n`);
      followCount += p.followers.length;
      entries += p.tracks.length;
      for (const t of p.tracks) seen[t >>> 3] = (seen[t >>> 3] as number) | (1 << (t & 7));
    }
    await slice.sink.write(']}\n');
    await close(slice);
    slices += 1;
    progress({ phase: 'playlists', done: last + 1, total: cfg.playlists, rows: entries });
  }
  await close(owners);
  await close(follows);
  await close(playlistTruth);
  let uniqueTracks = 0;
  for (const b of seen) for (let x = b; x; x &= x - 1) uniqueTracks++;

  // Plays: Taste Profile triplets, one user at a time.
  const triplets = open(gzip ? 'triplets.tsv.gz' : 'triplets.tsv', gzip);
  let tripletCount = 0;
  for (let u = 0; u < cfg.users; u++) {
    for (const [track, count] of userPlays(model, u)) {
      await triplets.sink.write(`${model.userId(u)}\t${fragments.uri(track)}\t${count}\n`);
      tripletCount++;
    }
    if ((u + 1) % 10_000 === 0 || u + 1 === cfg.users) progress({ phase: 'plays', done: u + 1, total: cfg.users, rows: tripletCount });
  }
  await close(triplets);

  // Catalogue truth: community and popularity rank of every track (derivable, written for other tools).
  const tracksFile = open('truth/tracks.tsv');
  for (let i = 0; i < cfg.tracks; i++) {
    const t = model.track(i);
    await tracksFile.sink.write(`${t.uri}\t${t.community}\t${t.rank}\t${t.artistUri}\t${t.albumUri}\n`);
    if ((i + 1) % 100_000 === 0 || i + 1 === cfg.tracks) progress({ phase: 'tracks', done: i + 1, total: cfg.tracks, rows: 0 });
  }
  await close(tracksFile);

  const summary: GenerateSummary = {
    config: cfg,
    counts: { users: cfg.users, playlists: cfg.playlists, entries, uniqueTracks, follows: followCount, triplets: tripletCount, slices },
    files,
    bytes: files.reduce((a, f) => a + f.bytes, 0),
  };
  const manifest = open('world.json');
  await manifest.sink.write(`${JSON.stringify({ format: 'buddies-world/1', ...summary }, null, 2)}\n`);
  await manifest.sink.close();
  return summary;
}

/**
 * JSON of catalogue tracks, cached for the most popular indices (Zipf: they are most of the draws), computed
 * from the model otherwise. Bounded: at most CACHE entries.
 */
class TrackFragments {
  private static readonly CACHE = 1 << 18;
  private readonly json: Array<string | undefined>;
  private readonly uris: Array<string | undefined>;
  private readonly meta: Int32Array; // artist, album, duration per cached index

  constructor(private readonly model: WorldModel) {
    const n = Math.min(model.config.tracks, TrackFragments.CACHE);
    // filled by push: `new Array(n)` this large would be a slow dictionary-mode array in V8
    this.json = [];
    this.uris = [];
    for (let i = 0; i < n; i++) {
      this.json.push(undefined);
      this.uris.push(undefined);
    }
    this.meta = new Int32Array(3 * n);
  }

  /** `,"artist_name":…}` (everything after pos), and artist, album and duration. */
  get(index: number): [string, number, number, number] {
    if (index < this.json.length) {
      const cached = this.json[index];
      if (cached !== undefined) return [cached, this.meta[3 * index] as number, this.meta[3 * index + 1] as number, this.meta[3 * index + 2] as number];
    }
    const t = this.model.track(index);
    const json = `,"artist_name":"${t.artistName}","track_uri":"${t.uri}","artist_uri":"${t.artistUri}","track_name":"${t.name}","album_uri":"${t.albumUri}","duration_ms":${t.durationMs},"album_name":"${t.albumName}"}`;
    if (index < this.json.length) {
      // a flat copy: the template above is a rope that every playlist's join would walk again
      this.json[index] = Buffer.from(json, 'latin1').toString('latin1');
      this.uris[index] = t.uri;
      this.meta.set([t.artist, t.album, t.durationMs], 3 * index);
    }
    return [json, t.artist, t.album, t.durationMs];
  }

  uri(index: number): string {
    const cached = index < this.uris.length ? this.uris[index] : undefined;
    if (cached !== undefined) return cached;
    this.get(index);
    return this.uris[index] ?? this.model.track(index).uri;
  }
}

interface Made {
  json: string;
  owner: number;
  primary: number;
  secondary: number;
  share: number;
  tracks: number[];
  followers: number[];
}

function makePlaylist(model: WorldModel, ownerAlias: ReturnType<typeof createAliasTable>, members: Members, fragments: TrackFragments, pid: number): Made {
  const cfg = model.config;
  const rng = createRng(hash32(cfg.seed, STREAM_KEYS.playlist, pid));
  const owner = ownerAlias.sample(rng.next(), rng.next());
  const taste = model.user(owner);
  const pick = (): number => {
    let x = rng.next();
    for (let i = 0; i < taste.communities.length; i++) {
      x -= taste.weights[i] as number;
      if (x < 0) return taste.communities[i] as number;
    }
    return taste.communities[taste.communities.length - 1] as number;
  };
  const primary = pick();
  let secondary = -1;
  let share = 1;
  if (taste.communities.length > 1 && rng.chance(cfg.mixProbability)) {
    for (let i = 0; i < 8 && secondary < 0; i++) {
      const c = pick();
      if (c !== primary) secondary = c;
    }
    if (secondary >= 0) share = 0.5 + 0.3 * rng.next();
  }
  // lognormal length with the configured mean, clamped to the MPD's bounds
  const sigma = 0.8;
  const length = Math.min(cfg.maxPlaylistLength, Math.max(cfg.minPlaylistLength, Math.round(Math.exp(Math.log(cfg.meanPlaylistLength) - (sigma * sigma) / 2 + sigma * rng.normal()))));
  const chosen = new Set<number>();
  const tracks: number[] = [];
  for (let slot = 0; slot < length; slot++) {
    for (let tries = 0; tries < 10; tries++) {
      const c = rng.chance(cfg.noise) ? model.sampleCommunity(rng) : secondary >= 0 && !rng.chance(share) ? secondary : primary;
      const t = model.sampleTrack(c, rng);
      if (!chosen.has(t)) {
        chosen.add(t);
        tracks.push(t);
        break;
      }
    }
  }
  // followers: a Pareto-tailed count, drawn from the primary community's members by their weight in it
  const start = members.start[primary] as number;
  const size = (members.start[primary + 1] as number) - start;
  const wanted = Math.min(Math.floor(Math.pow(1 - rng.next(), -1 / cfg.followerAlpha)) - 1, size - 1, 100_000);
  const followers: number[] = [];
  const taken = new Set<number>([owner]);
  for (let tries = 0; followers.length < wanted && tries < wanted * 30; tries++) {
    const at = start + rng.int(size);
    const u = members.users[at] as number;
    if (!taken.has(u) && rng.next() < (members.weights[at] as number)) {
      taken.add(u);
      followers.push(u);
    }
  }
  const modifiedAt = cfg.startTime + Math.floor(rng.next() * (cfg.endTime - cfg.startTime + 1));
  const collaborative = rng.chance(0.02);
  const edits = 1 + Math.floor(rng.exponential(tracks.length / 5));
  const albums = new Set<number>();
  const artists = new Set<number>();
  let duration = 0;
  const parts: string[] = [];
  for (let pos = 0; pos < tracks.length; pos++) {
    const [json, artist, album, ms] = fragments.get(tracks[pos] as number);
    parts.push(`{"pos":${pos}${json}`);
    artists.add(artist);
    albums.add(album);
    duration += ms;
  }
  const name = JSON.stringify(playlistName(model, primary, pid));
  const json =
    `{"name":${name},"collaborative":"${collaborative}","pid":${pid},"modified_at":${modifiedAt},"num_tracks":${tracks.length},` +
    `"num_albums":${albums.size},"num_followers":${1 + followers.length},"tracks":[${parts.join(',')}],` +
    `"num_edits":${edits},"duration_ms":${duration},"num_artists":${artists.size}}`;
  return { json, owner, primary, secondary, share, tracks, followers };
}

/** A user's Taste Profile rows: distinct tracks from their taste (plus noise) with play counts. */
export function userPlays(model: WorldModel, u: number): Array<[number, number]> {
  const cfg = model.config;
  const taste = model.user(u);
  const rng = createRng(hash32(cfg.seed, STREAM_KEYS.plays, u));
  const n = Math.max(1, Math.min(Math.round(cfg.playsPerUser * taste.activity), 20 * cfg.playsPerUser));
  const rows: Array<[number, number]> = [];
  const chosen = new Set<number>();
  for (let tries = 0; rows.length < n && tries < 3 * n; tries++) {
    let c: number;
    let w = 0;
    if (rng.chance(cfg.noise)) c = model.sampleCommunity(rng);
    else {
      let x = rng.next();
      let i = 0;
      while (i < taste.communities.length - 1 && (x -= taste.weights[i] as number) >= 0) i++;
      c = taste.communities[i] as number;
      w = taste.weights[i] as number;
    }
    const t = model.sampleTrack(c, rng);
    if (chosen.has(t)) continue;
    chosen.add(t);
    // stronger tastes are played more often
    rows.push([t, 1 + Math.floor(rng.exponential((cfg.meanPlayCount - 1) * (0.5 + w)))]);
  }
  return rows;
}
