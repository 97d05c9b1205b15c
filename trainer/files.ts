import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { WindowSetJson } from './window-set.js';

/**
 * The trainer's state folder (`BUDDIES_TRAINER_DIR`, default `<models dir>/.trainer`):
 *
 * ```
 * window-set.json        the sliding training set and the topic offsets it covers (rewritten atomically)
 * requests/*.json        retrain requests not yet taken (one file each, written by requestRetrain)
 * runs/<run id>/         a run in progress: run.json, snapshot.json (its frozen data), checkpoints/, model/
 * history.jsonl          one line per finished run (outcome and numbers), appended
 * ```
 */
export const TRAINER_FILES = {
  windowSet: 'window-set.json',
  requests: 'requests',
  runs: 'runs',
  history: 'history.jsonl',
} as const;

export const errno = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

/** Writes `path` through a temporary file and a rename: a reader (or a restart after a crash) sees the old file or the new one, whole. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** A JSON file, or undefined when it does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** window-set.json: the set and, per partition of `topic`, the next offset to read (what the set already holds). */
export interface WindowSetState {
  readonly format: 'buddies-trainer-window-set';
  readonly formatVersion: 1;
  readonly topic: string;
  readonly offsets: Readonly<Record<string, string>>;
  readonly set: WindowSetJson;
  readonly savedAt: string;
}

export async function saveWindowSetState(dir: string, topic: string, offsets: ReadonlyMap<number, string>, set: WindowSetJson): Promise<void> {
  const state: WindowSetState = {
    format: 'buddies-trainer-window-set', formatVersion: 1, topic, offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o])), set, savedAt: new Date().toISOString(),
  };
  await writeAtomic(join(dir, TRAINER_FILES.windowSet), JSON.stringify(state));
}

/**
 * The saved set of `topic`, or undefined when there is none, it is of another topic (another topic prefix) or it
 * cannot be read (then the topic is read again from its beginning: `problem` says why).
 */
export async function loadWindowSetState(dir: string, topic: string): Promise<{ state?: WindowSetState; problem?: string }> {
  let s: WindowSetState | undefined;
  try {
    s = await readJson<WindowSetState>(join(dir, TRAINER_FILES.windowSet));
  } catch (err) {
    return { problem: `${TRAINER_FILES.windowSet} is unreadable (${err instanceof Error ? err.message : String(err)})` };
  }
  if (!s) return {};
  if (s.format !== 'buddies-trainer-window-set' || s.formatVersion !== 1) return { problem: `${TRAINER_FILES.windowSet} has format ${String(s.format)} ${String(s.formatVersion)}` };
  if (s.topic !== topic) return { problem: `${TRAINER_FILES.windowSet} holds ${s.topic}, not ${topic}` };
  return { state: s };
}

export async function appendHistory(dir: string, line: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, TRAINER_FILES.history), `${JSON.stringify(line)}\n`);
}

/** The finished runs, oldest first (a torn last line, from a crash while appending, is skipped). */
export async function readHistory<T>(dir: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(join(dir, TRAINER_FILES.history), 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a line cut by a crash
    }
  }
  return out;
}
