/** A check run every `intervalMs`, timed from the end of the previous one (checks never overlap). */
export interface Repeating {
  /** Runs the first check now, then every interval. Idempotent while running. */
  start(): void;
  /** Stops the timer and waits for a check in flight. Idempotent. */
  stop(): Promise<void>;
}

/** Repeats `check`; a check that throws is reported to `onError` and the next one runs as planned. */
export function repeatEvery(check: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void): Repeating {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    running = check()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  return {
    start() {
      if (timer || running) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
