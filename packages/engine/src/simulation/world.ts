/**
 * The simulated world: one virtual clock and one queue of events. Nothing in a simulated
 * history waits on real time: every delay is an event here, and after each event every promise
 * it set going runs to the point where it waits on a later event. So one seed gives one
 * history, byte for byte.
 */
interface Event {
  at: number;
  seq: number;
  label: string;
  run: () => void;
}

/** Thrown into work of a node that crashed: it stops where it was, writing nothing more. */
export class Crashed extends Error {
  override readonly name = 'Crashed';
}

export interface World {
  /** The true time (epoch ms); each node's clock adds its own skew. */
  readonly now: number;
  /** Runs `run` at `at` (not before `now`); events at one time run in the order they were set. */
  at(at: number, label: string, run: () => void): void;
  after(delayMs: number, label: string, run: () => void): void;
  /** Resolves `delayMs` of virtual time later. */
  sleep(delayMs: number): Promise<void>;
  /** Runs events until none is left before `until` (or the budget of events is spent). */
  run(until: number): Promise<void>;
  /** One line of the history's trace. */
  log(node: string, text: string): void;
  readonly trace: string[];
  /** Events run so far. */
  readonly steps: number;
}

/**
 * Lets every promise that can move, move: the microtask queue is empty after this. The one
 * place the simulator touches the host's event loop (it runs in Node); no simulated time passes.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createWorld(options: { start: number; maxSteps?: number }): World {
  let now = options.start;
  let seq = 0;
  let steps = 0;
  const maxSteps = options.maxSteps ?? 200_000;
  const queue: Event[] = [];
  const trace: string[] = [];

  function push(event: Event): void {
    // Binary insertion by (at, seq): the queue stays sorted, earliest first.
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = queue[middle]!;
      if (other.at < event.at || (other.at === event.at && other.seq < event.seq)) low = middle + 1;
      else high = middle;
    }
    queue.splice(low, 0, event);
  }

  const world: World = {
    get now() {
      return now;
    },
    get steps() {
      return steps;
    },
    trace,
    at(at, label, run) {
      push({ at: Math.max(at, now), seq: seq++, label, run });
    },
    after(delayMs, label, run) {
      world.at(now + Math.max(0, delayMs), label, run);
    },
    sleep(delayMs) {
      return new Promise((resolve) => world.after(delayMs, 'sleep', resolve));
    },
    async run(until) {
      await settle();
      while (queue.length > 0 && queue[0]!.at <= until) {
        if (++steps > maxSteps) throw new Error(`the history ran more than ${maxSteps} events`);
        const event = queue.shift()!;
        now = event.at;
        event.run();
        await settle();
      }
      if (now < until) now = until;
    },
    log(node, text) {
      trace.push(`${new Date(now).toISOString().slice(11, 23)} ${node.padEnd(12)} ${text}`);
    },
  };
  return world;
}
