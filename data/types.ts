/** One track entry of an MPD playlist. The reduced schema has only track_uri, track_name and artist_name. */
export interface MpdTrack {
  /** Position in the playlist, 0-based (filled from the array order when a slice omits it). */
  pos: number;
  track_uri: string;
  track_name: string;
  artist_name: string;
  artist_uri?: string;
  album_uri?: string;
  album_name?: string;
  duration_ms?: number;
}

/** One playlist of a Million Playlist Dataset slice, validated and normalised. */
export interface MpdPlaylist {
  pid: number;
  name: string;
  tracks: MpdTrack[];
  num_followers: number;
  /** Unix seconds. */
  modified_at?: number;
  /** The MPD writes it as the string "true"/"false"; the loader turns it into a boolean. */
  collaborative?: boolean;
  description?: string;
}

/** One user–item row: a play count (Taste Profile) or listening weight (Last.fm). */
export interface Interaction {
  user: string;
  item: string;
  weight: number;
}

/** One skipped record (or a whole unreadable file), with where it was and why. */
export interface Rejected {
  file: string;
  /** 1-based line of the record in the (decompressed) file, best effort. */
  line: number;
  reason: string;
}

/**
 * Counts for one load; `rejected` lists each malformed record with file and line (capped list, exact count).
 * A loader only ever adds to a report, so one report can be shared by several loads.
 */
export interface LoadReport {
  /** Files opened (including files that turned out unreadable). */
  files: number;
  /** Records accepted and yielded. */
  records: number;
  /** Bytes read from disk so far (compressed bytes for .gz), for progress against the file sizes. */
  bytesRead: number;
  /** Every rejected record or file, exactly. */
  rejectedCount: number;
  /** The first {@link MAX_REJECTED_LISTED} rejections. */
  rejected: Rejected[];
}

/** A dataset path that cannot be used as asked: missing, a folder where a file is needed, or holding no valid record. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

/** How many rejections a report lists in full (the count stays exact). */
export const MAX_REJECTED_LISTED = 1000;

export function createLoadReport(): LoadReport {
  return { files: 0, records: 0, bytesRead: 0, rejectedCount: 0, rejected: [] };
}

/** Counts a rejection and lists it while the list has room. */
export function reject(report: LoadReport, file: string, line: number, reason: string): void {
  report.rejectedCount += 1;
  if (report.rejected.length < MAX_REJECTED_LISTED) report.rejected.push({ file, line, reason });
}
