import { createLoadReport, readMpdDir } from '../data/index.js';
import { pipelinePlaylistFromMpd, uniquePlaylistIds, type PipelinePlaylist } from '../models/pipeline/index.js';
import { InputError } from './command.js';

/**
 * The MPD slices under `dir` as pipeline playlists with unique ids (a repeated pid becomes `PID~2`, see
 * {@link uniquePlaylistIds}), for the commands that key playlists by id (`eval mpd`, `offline recommend-playlists`).
 * Logs what it read and a few rejected records; a folder without playlists is an InputError (exit 1).
 */
export async function readPipelinePlaylists(dir: string, log: (line: string) => void): Promise<PipelinePlaylist[]> {
  const report = createLoadReport();
  const loaded: PipelinePlaylist[] = [];
  for await (const p of readMpdDir(dir, report)) loaded.push(pipelinePlaylistFromMpd(p));
  const { playlists, renamed } = uniquePlaylistIds(loaded);
  log(`${playlists.length} playlists from ${report.files} files (${report.rejectedCount} rejected records${renamed ? `; ${renamed} repeated pids renamed PID~2` : ''})`);
  for (const r of report.rejected.slice(0, 5)) log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
  if (playlists.length === 0) throw new InputError(`--playlists ${dir}: no MPD playlists found`);
  return playlists;
}
