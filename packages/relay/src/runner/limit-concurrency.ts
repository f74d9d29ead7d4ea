/** A counting semaphore: `run` waits until fewer than `limit` calls are in flight. */
export function createLimiter(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      active += 1;
      try {
        return await fn();
      } finally {
        active -= 1;
        waiting.shift()?.();
      }
    },
    active: () => active,
  };
}

export type Limiter = ReturnType<typeof createLimiter>;
