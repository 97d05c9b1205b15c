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
