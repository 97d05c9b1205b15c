/** A progress line on stderr: done/total, count, rate and ETA; redrawn in place on a terminal, one line a second otherwise. */
export interface ProgressLine {
  update(done: number, total: number, count: number, extra?: string): void;
  /** Ends the line (on a terminal) and prints the final figures. */
  end(summary?: string): void;
}

export function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgressLine(label: string, opts: { unit?: string; countUnit?: string; stream?: NodeJS.WriteStream; intervalMs?: number } = {}): ProgressLine {
  const stream = opts.stream ?? process.stderr;
  const started = Date.now();
  let last = 0;
  const tty = stream.isTTY === true;
  return {
    update(done, total, count, extra) {
      const now = Date.now();
      if (now - last < (opts.intervalMs ?? 1000) && done < total) return;
      last = now;
      const secs = (now - started) / 1000;
      const rate = count / Math.max(secs, 1e-3);
      const pct = total > 0 ? ` ${((100 * done) / total).toFixed(1)}%` : '';
      const eta = done > 0 && total > done ? ` ETA ${formatSeconds((secs / done) * (total - done))}` : '';
      const unit = opts.unit ? ` ${opts.unit}` : '';
      const line = `${label}: ${formatCount(done)}/${formatCount(total)}${unit}${pct}, ${formatCount(count)} ${opts.countUnit ?? 'records'}, ${formatCount(Math.round(rate))}/s${eta}${extra ? `, ${extra}` : ''}`;
      stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end(summary) {
      if (tty) stream.write('\n');
      if (summary) stream.write(`${label}: ${summary}\n`);
    },
  };
}

/** What {@link runInterruptible} returns when SIGINT or SIGTERM stopped the work (the command then exits 130). */
export const INTERRUPTED = Symbol('interrupted');

/**
 * Runs long work that cleans up after itself on an abort signal: SIGINT or SIGTERM aborts it (a second signal only
 * says cleaning goes on), and it resolves {@link INTERRUPTED} once the work has stopped. `cleaning` names what the
 * work removes, for the signal's log line; `wasInterrupt` recognises the work's own interruption error.
 */
export async function runInterruptible<T>(
  log: (line: string) => void, cleaning: string, wasInterrupt: (err: unknown) => boolean, work: (signal: AbortSignal) => Promise<T>,
): Promise<T | typeof INTERRUPTED> {
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      log(`${signal}: still cleaning up (${cleaning})`);
      return;
    }
    log(`${signal}: stopping and cleaning up (${cleaning})`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(abort.signal);
  } catch (err) {
    if (wasInterrupt(err) || abort.signal.aborted) {
      log('interrupted; cleaned up');
      return INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
