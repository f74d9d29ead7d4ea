import type { Engine } from '@baton/engine';

const tickEveryMs = 5_000;

export interface TickLoop {
  /** Runs `fn` after every planning operation queued before it (one at a time). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** One tick now, if this host leads; failures are logged, never thrown. */
  runTick(): Promise<void>;
  /** Counts slots planned by a run-now (ticks count their own). */
  countPlanned(count: number): void;
  readonly ticks: number;
  readonly lastTickAt: number | null;
  readonly plannedByThisDevice: number;
  /** Ticks every 5 s (and once now) until `stop()`. */
  start(): void;
  /** Stops ticking and aborts the tick in flight (this host stopped leading). */
  stop(): void;
  /** Stops ticking but lets the tick in flight finish; resolves when it has (no page is left). */
  drain(): Promise<void>;
}

/**
 * The host's clock for the engine: `engine.tick` every few seconds while this host leads, with
 * ticks, run-now and dry runs serialised so one planning operation runs at a time.
 */
export function createTickLoop(options: {
  engine: Engine;
  now: () => number;
  isLeader: () => boolean;
  /** After a tick that changed something (push it soon). */
  onWork: () => void;
  /** After every tick (status changed). */
  onTick: () => void;
}): TickLoop {
  const { engine, now } = options;
  let ticks = 0;
  let lastTickAt: number | null = null;
  let plannedByThisDevice = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** The tick in flight, aborted by `stop()`: an aborted planning run writes nothing. */
  let current: AbortController | undefined;

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  async function runTick(): Promise<void> {
    if (!options.isLeader()) return;
    await serial(async () => {
      // Leadership may have moved while this tick waited its turn.
      if (!options.isLeader()) return;
      const controller = new AbortController();
      current = controller;
      const report = await engine.tick({ now: now(), signal: controller.signal }).finally(() => {
        if (current === controller) current = undefined;
      });
      if (controller.signal.aborted) return;
      ticks += 1;
      lastTickAt = now();
      plannedByThisDevice += report.planned.length;
      if (
        report.planned.length +
          report.failed.length +
          report.skipped.length +
          report.paused.length >
        0
      )
        options.onWork();
    }).catch((error: unknown) => {
      console.error('[baton] tick failed', error);
    });
    options.onTick();
  }

  return {
    serial,
    runTick,
    countPlanned(count) {
      plannedByThisDevice += count;
    },
    get ticks() {
      return ticks;
    },
    get lastTickAt() {
      return lastTickAt;
    },
    get plannedByThisDevice() {
      return plannedByThisDevice;
    },
    start() {
      clearInterval(timer);
      timer = setInterval(() => void runTick(), tickEveryMs);
      void runTick();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      current?.abort();
    },
    async drain() {
      clearInterval(timer);
      timer = undefined;
      await queue;
    },
  };
}
