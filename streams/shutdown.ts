/** Something with an orderly stop (a runner, a server). */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Stops `targets` in order on SIGTERM or SIGINT, then exits 0 (1 if a stop failed). A second signal,
 * or `timeoutMs` passing, exits at once with 1. Returns a function that removes the handlers.
 */
export function stopOnSignals(targets: readonly Stoppable[], opts: { timeoutMs?: number; log?: (line: string) => void } = {}): () => void {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: finishing the current batch and shutting down`);
    const timer = setTimeout(() => {
      log('shutdown timed out');
      process.exit(1);
    }, opts.timeoutMs ?? 30_000);
    timer.unref();
    (async () => {
      let code = 0;
      for (const t of targets) {
        try {
          await t.stop();
        } catch (err) {
          code = 1;
          log(`shutdown: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      process.exit(code);
    })();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
