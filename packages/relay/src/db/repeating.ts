/**
 * Work the relay runs on a database of its own accord, as PostgreSQL's background processes
 * would (PGlite's checkpoints and vacuum): `work` runs `everyMs` after the last run ended, never
 * two at once, on timers that do not keep the process alive.
 */
export interface Repeating {
  /** Whether `stop()` was called: a run checks it between its statements. */
  readonly stopped: boolean;
  /** Ends the runs, waiting for one in progress. */
  stop(): Promise<void>;
}

export function startRepeating(
  everyMs: number,
  work: (repeating: Repeating) => Promise<void>,
): Repeating {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const repeating: Repeating = {
    get stopped() {
      return stopped;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = work(repeating)
        // A run that fails (the database closing, a full disk) is tried again at the next one;
        // the database's own errors reach the requests that hit them.
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, everyMs);
    timer.unref();
  };
  schedule();
  return repeating;
}
