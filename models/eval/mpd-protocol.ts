import { createRng, sampleIndices } from '../random.js';
import type { PipelineQuery, PipelinePlaylist } from '../pipeline/index.js';
import { createMemoryCatalog, type PlaylistCatalog } from '../ranking/index.js';
import { popularPlaylists, randomPlaylists, type BaselineUser } from '../recommend/index.js';

/**
 * Protocol (a) on MPD playlists: query playlists with at least `minTracks` unique tracks (a seeded
 * sample); the first half of each one's unique tracks (in playlist order) is the known history and the
 * second half is hidden. All query playlists are left out of the corpus that models learn from and
 * recommend from, so nothing of a hidden half leaks into embeddings, tastes or IDF.
 */
export interface MpdSplit {
  readonly corpus: readonly PipelinePlaylist[];
  readonly queries: readonly MpdQuery[];
}

export interface MpdQuery extends PipelineQuery {
  readonly playlist: string;
  readonly hidden: ReadonlySet<string>;
}

export interface MpdSplitOptions {
  readonly queries: number;
  readonly minTracks: number;
  readonly seed: number;
}

export function splitMpd(playlists: readonly PipelinePlaylist[], opts: MpdSplitOptions): MpdSplit {
  const eligible = playlists.filter((p) => new Set(p.tracks).size >= opts.minTracks);
  const picked = sampleIndices(eligible.length, opts.queries, createRng(opts.seed)).map((i) => eligible[i]!);
  const pickedIds = new Set(picked.map((p) => p.id));
  const queries = picked.map((p) => {
    const uniq = [...new Set(p.tracks)];
    const half = Math.floor(uniq.length / 2);
    return { user: `query:${p.id}`, playlist: p.id, tracks: uniq.slice(0, half), hidden: new Set(uniq.slice(half)), exclude: [p.id] };
  });
  return { corpus: playlists.filter((p) => !pickedIds.has(p.id)), queries };
}

/**
 * The two splits `buddies eval mpd --on` scores: `test`, {@link splitMpd} of all playlists with `seed`; `validation`,
 * the test split's corpus (its queries left out) split again with `seed + 1`, so tuning never sees a test query.
 */
export function mpdSplits(playlists: readonly PipelinePlaylist[], opts: MpdSplitOptions): { readonly test: MpdSplit; readonly validation: MpdSplit } {
  const test = splitMpd(playlists, opts);
  return { test, validation: splitMpd(test.corpus, { ...opts, seed: opts.seed + 1 }) };
}

/** A split as plain JSON for outside tools (`eval mpd --export-split`): each corpus playlist's unique tracks in order, each query's known and hidden tracks. */
export function mpdSplitJson<M extends Readonly<Record<string, unknown>>>(split: MpdSplit, meta: M) {
  return {
    ...meta,
    corpus: split.corpus.map((p) => ({ id: p.id, tracks: [...new Set(p.tracks)] })),
    queries: split.queries.map((q) => ({ playlist: q.playlist, known: [...q.tracks], hidden: [...q.hidden] })),
  };
}

export interface MpdMetrics {
  /** Mean over queries of the mean, over the k slots, of the share of each playlist's tracks that are hidden tracks. */
  readonly hiddenShare: number;
  /** Mean share of the k slots holding a playlist that contains at least one hidden track. */
  readonly hitRate: number;
  /** Mean share of the hidden set covered by the union of the k playlists. */
  readonly coverage: number;
  readonly queries: number;
}

/** Scores ranked playlist ids per query (an empty slot counts as zero). */
export function scoreMpd(recs: readonly (readonly string[])[], queries: readonly MpdQuery[], tracksOf: (id: string) => readonly string[] | undefined, k: number): MpdMetrics {
  let share = 0;
  let hit = 0;
  let cover = 0;
  queries.forEach((q, i) => {
    const list = (recs[i] ?? []).slice(0, k);
    const covered = new Set<string>();
    let s = 0;
    let h = 0;
    for (const pid of list) {
      if (q.exclude.includes(pid)) throw new Error(`recommended excluded playlist ${pid} to ${q.user}`);
      const tracks = [...new Set(tracksOf(pid) ?? [])];
      const inHidden = tracks.filter((t) => q.hidden.has(t));
      if (tracks.length > 0) s += inHidden.length / tracks.length;
      if (inHidden.length > 0) h++;
      for (const t of inHidden) covered.add(t);
    }
    share += s / k;
    hit += h / k;
    cover += covered.size / q.hidden.size;
  });
  const n = Math.max(1, queries.length);
  return { hiddenShare: share / n, hitRate: hit / n, coverage: cover / n, queries: queries.length };
}

/** A method under evaluation: ranked playlist ids for each query. */
export type MpdMethod = (queries: readonly MpdQuery[], k: number) => Promise<string[][]>;

/** IDF-weighted track overlap: cosine between the binary TF-IDF vectors of the query's tracks and each playlist's. */
export function idfOverlapBaseline(corpus: readonly PipelinePlaylist[]): MpdMethod {
  const n = corpus.length;
  const byTrack = new Map<string, number[]>();
  const sets = corpus.map((p) => [...new Set(p.tracks)]);
  sets.forEach((tracks, i) => {
    for (const t of tracks) {
      const l = byTrack.get(t);
      if (l) l.push(i);
      else byTrack.set(t, [i]);
    }
  });
  const idf = (t: string) => {
    const df = byTrack.get(t)?.length ?? 0;
    return df === 0 ? 0 : Math.log(n / df);
  };
  const norms = sets.map((tracks) => Math.sqrt(tracks.reduce((s, t) => s + idf(t) ** 2, 0)));
  return async (queries, k) =>
    queries.map((q) => {
      const uniq = [...new Set(q.tracks)];
      const qn = Math.sqrt(uniq.reduce((s, t) => s + idf(t) ** 2, 0));
      const acc = new Map<number, number>();
      for (const t of uniq) {
        const w = idf(t) ** 2;
        for (const i of byTrack.get(t) ?? []) acc.set(i, (acc.get(i) ?? 0) + w);
      }
      const exclude = new Set(q.exclude);
      return [...acc]
        .filter(([i]) => !exclude.has(corpus[i]!.id))
        .map(([i, dot]) => ({ id: corpus[i]!.id, s: qn > 0 && norms[i]! > 0 ? dot / (qn * norms[i]!) : 0 }))
        .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
        .slice(0, k)
        .map((x) => x.id);
    });
}

/** The corpus as a catalogue for the baselines: every playlist organic, its followers its popularity. */
function corpusCatalog(corpus: readonly PipelinePlaylist[]): PlaylistCatalog {
  return createMemoryCatalog(corpus.map((p) => ({ id: p.id, owner: p.owner, tracks: [...new Set(p.tracks)], followers: p.followers, engagement: 0, organic: true, centroid: undefined })));
}

const baselineUser = (q: MpdQuery): BaselineUser => ({ id: q.user, taste: undefined, excluded: new Set(q.exclude) });

/** Most-followed playlists: the live 'popular' baseline (models/recommend `popularPlaylists`) over the corpus. */
export function popularityBaseline(corpus: readonly PipelinePlaylist[]): MpdMethod {
  const catalog = corpusCatalog(corpus);
  return async (queries, k) => queries.map((q) => popularPlaylists(catalog, baselineUser(q), k).map((r) => r.playlistId));
}

/** Uniformly random playlists: the live 'random' baseline (models/recommend `randomPlaylists`) over the corpus, seeded. */
export function randomBaseline(corpus: readonly PipelinePlaylist[], seed: number): MpdMethod {
  const catalog = corpusCatalog(corpus);
  const rng = createRng(seed);
  return async (queries, k) => queries.map((q) => randomPlaylists(catalog, baselineUser(q), k, rng.next).map((r) => r.playlistId));
}
