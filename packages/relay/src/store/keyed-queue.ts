/**
 * Runs tasks one at a time per key, in arrival order; different keys run side by side. The
 * SQL store queues each user's write transactions with it, so on PostgreSQL a transaction that
 * would only wait for the user's advisory lock waits here instead, without holding a pooled
 * connection that reads of other plans need.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createKeyedQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      // Each task starts on a later turn of the event loop, after pending I/O: PGlite answers
      // through promises alone, so without it a user's backlog of pushes ran back to back as
      // one chain of microtasks and no other request was even read until it drained.
      const start = () => nextTurn().then(task);
      const current = previous.then(start, start);
      const tail = current.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return current;
    },
  };
}
