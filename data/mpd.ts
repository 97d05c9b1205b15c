import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { reject, type LoadReport, type MpdPlaylist, type MpdTrack } from './types.js';

const gunzipAsync = promisify(gunzip);

/** File names the MPD uses for its slices: `mpd.slice.0-999.json`, optionally gzipped (and suffixed, as in the sample). */
export const MPD_SLICE_NAME = /^mpd\.slice\..+\.json(\.gz)?$/;

const TRACK_URI = /^spotify:track:[0-9A-Za-z]+$/;
const ARTIST_URI = /^spotify:artist:[0-9A-Za-z]+$/;
const ALBUM_URI = /^spotify:album:[0-9A-Za-z]+$/;

/** Why a raw playlist is not a valid {@link MpdPlaylist}, or the playlist itself. */
type Checked = { ok: true; playlist: MpdPlaylist } | { ok: false; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkTrack(raw: unknown, index: number): MpdTrack | string {
  if (!isRecord(raw)) return `track ${index} is not an object`;
  const { track_uri, track_name, artist_name, pos } = raw;
  if (typeof track_uri !== 'string' || !TRACK_URI.test(track_uri)) return `track ${index}: bad track_uri ${JSON.stringify(track_uri)}`;
  if (typeof track_name !== 'string') return `track ${index}: track_name is not a string`;
  if (typeof artist_name !== 'string') return `track ${index}: artist_name is not a string`;
  if (pos !== undefined && !isNonNegInt(pos)) return `track ${index}: bad pos ${JSON.stringify(pos)}`;
  const track: MpdTrack = { pos: pos ?? index, track_uri, track_name, artist_name };
  const { artist_uri, album_uri, album_name, duration_ms } = raw;
  if (artist_uri !== undefined) {
    if (typeof artist_uri !== 'string' || !ARTIST_URI.test(artist_uri)) return `track ${index}: bad artist_uri ${JSON.stringify(artist_uri)}`;
    track.artist_uri = artist_uri;
  }
  if (album_uri !== undefined) {
    if (typeof album_uri !== 'string' || !ALBUM_URI.test(album_uri)) return `track ${index}: bad album_uri ${JSON.stringify(album_uri)}`;
    track.album_uri = album_uri;
  }
  if (album_name !== undefined) {
    if (typeof album_name !== 'string') return `track ${index}: album_name is not a string`;
    track.album_name = album_name;
  }
  if (duration_ms !== undefined) {
    if (!isNonNegInt(duration_ms)) return `track ${index}: bad duration_ms ${JSON.stringify(duration_ms)}`;
    track.duration_ms = duration_ms;
  }
  return track;
}

function checkBoolean(v: unknown): boolean | undefined | 'bad' {
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return 'bad';
}

/** Validates one raw playlist of a slice; pure. Missing `name` becomes '', missing `num_followers` 1 (the owner). */
export function checkPlaylist(raw: unknown): Checked {
  if (!isRecord(raw)) return { ok: false, reason: 'playlist is not an object' };
  const { pid, name, tracks, num_followers, modified_at, collaborative, description } = raw;
  if (pid === undefined) return { ok: false, reason: 'missing pid' };
  if (!isNonNegInt(pid)) return { ok: false, reason: `bad pid ${JSON.stringify(pid)}` };
  const at = `pid ${pid}`;
  if (name !== undefined && typeof name !== 'string') return { ok: false, reason: `${at}: name is not a string` };
  if (!Array.isArray(tracks)) return { ok: false, reason: `${at}: tracks is not an array` };
  if (num_followers !== undefined && !isNonNegInt(num_followers)) return { ok: false, reason: `${at}: bad num_followers ${JSON.stringify(num_followers)}` };
  if (modified_at !== undefined && !isNonNegInt(modified_at)) return { ok: false, reason: `${at}: bad modified_at ${JSON.stringify(modified_at)}` };
  const collab = checkBoolean(collaborative);
  if (collab === 'bad') return { ok: false, reason: `${at}: bad collaborative ${JSON.stringify(collaborative)}` };
  if (description !== undefined && typeof description !== 'string') return { ok: false, reason: `${at}: description is not a string` };
  const checked: MpdTrack[] = new Array<MpdTrack>(tracks.length);
  for (let i = 0; i < tracks.length; i++) {
    const t = checkTrack(tracks[i], i);
    if (typeof t === 'string') return { ok: false, reason: `${at}: ${t}` };
    checked[i] = t;
  }
  const playlist: MpdPlaylist = { pid, name: name ?? '', tracks: checked, num_followers: num_followers ?? 1 };
  if (modified_at !== undefined) playlist.modified_at = modified_at;
  if (collab !== undefined) playlist.collaborative = collab;
  if (description !== undefined) playlist.description = description;
  return { ok: true, playlist };
}

/**
 * 1-based line on which each element of the root object's first array-valued member (`playlists`) starts.
 * A plain character scan, run only when a slice has a bad playlist to report.
 */
export function playlistLines(text: string): number[] {
  const lines: number[] = [];
  const stack: string[] = [];
  let line = 1;
  let inString = false;
  let pendingElement = false; // inside the playlists array, waiting for the next element
  let playlistsDepth = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character (never a newline in valid JSON)
      else if (c === 34) inString = false;
      continue;
    }
    const isSpace = c === 32 || c === 10 || c === 13 || c === 9;
    if (pendingElement && !isSpace && c !== 93 && c !== 44) {
      lines.push(line);
      pendingElement = false;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      stack.push(c === 123 ? '{' : '[');
      if (c === 91 && playlistsDepth < 0 && stack.length === 2 && stack[0] === '{') {
        playlistsDepth = 2;
        pendingElement = true;
      }
    } else if (c === 125 || c === 93) {
      if (c === 93 && stack.length === playlistsDepth) return lines;
      stack.pop();
    } else if (c === 44 && stack.length === playlistsDepth) pendingElement = true;
  }
  return lines;
}

function jsonErrorLine(text: string, err: unknown): number {
  const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (!m) return 1;
  const pos = Math.min(Number(m[1]), text.length);
  let line = 1;
  for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

async function readText(path: string, report: LoadReport): Promise<string> {
  const buf = await readFile(path);
  report.bytesRead += buf.length;
  // gzip magic number rather than the extension, so a mislabelled file still loads
  const raw = buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b ? await gunzipAsync(buf) : buf;
  return raw.toString('utf8');
}

/**
 * Streams the valid playlists of one MPD slice (`.json` or `.json.gz`, full or reduced track schema).
 * The slice is read and parsed whole (at most ~35 MB of JSON), then released when the generator ends.
 * Malformed playlists and unreadable files are added to `report` and skipped; nothing is thrown for bad data.
 */
export async function* readMpdSlice(path: string, report: LoadReport): AsyncGenerator<MpdPlaylist> {
  report.files += 1;
  let text: string;
  try {
    text = await readText(path, report);
  } catch (err) {
    reject(report, path, 0, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    reject(report, path, jsonErrorLine(text, err), `not JSON: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (!isRecord(root) || !Array.isArray(root.playlists)) {
    reject(report, path, 1, 'not an MPD slice: no "playlists" array');
    return;
  }
  const playlists: unknown[] = root.playlists;
  let lines: number[] | undefined;
  for (let i = 0; i < playlists.length; i++) {
    const checked = checkPlaylist(playlists[i]);
    if (checked.ok) {
      report.records += 1;
      yield checked.playlist;
    } else {
      lines ??= playlistLines(text);
      reject(report, path, lines[i] ?? 0, `playlist ${i}: ${checked.reason}`);
    }
  }
}

/** Natural order of slice names: by the first number in the name (the slice's first pid), then by name. */
export function compareSliceNames(a: string, b: string): number {
  const na = Number(/\d+/.exec(a)?.[0] ?? Number.NaN);
  const nb = Number(/\d+/.exec(b)?.[0] ?? Number.NaN);
  if (na !== nb && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The slice files of a folder (`mpd.slice.*.json[.gz]`), in natural name order, as full paths. */
export async function listMpdSlices(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => MPD_SLICE_NAME.test(n)).sort(compareSliceNames);
  return names.map((n) => join(dir, n));
}

/**
 * Streams every slice of a folder (`mpd.slice.*.json[.gz]`, in natural name order, one slice in memory at a time).
 * A file path is read as a single slice.
 */
export async function* readMpdDir(dir: string, report: LoadReport): AsyncGenerator<MpdPlaylist> {
  const s = await stat(dir);
  const files = s.isDirectory() ? await listMpdSlices(dir) : [dir];
  for (const f of files) yield* readMpdSlice(f, report);
}
