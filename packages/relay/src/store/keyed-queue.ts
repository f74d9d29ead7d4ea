/**
 * Runs tasks one at a time per key, in arrival order; different keys run side by side. The
 * SQL store queues each user's write transactions with it, so on PostgreSQL a transaction that
 * would only wait for the user's advisory lock waits here instead, without holding a pooled
 * connection that reads of other plans need.
 */
export function createKeyedQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const current = previous.then(task, task);
      const tail = current.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return current;
    },
  };
}
