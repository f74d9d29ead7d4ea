/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at `maxMs`. */
export function createBackoff(options: { baseMs?: number; maxMs?: number } = {}) {
  const baseMs = options.baseMs ?? 1_000;
  const maxMs = options.maxMs ?? 30_000;
  let attempt = 0;
  return {
    next(): number {
      const delay = Math.min(maxMs, baseMs * 2 ** attempt);
      attempt += 1;
      return Math.round(delay * (0.8 + Math.random() * 0.4));
    },
    reset(): void {
      attempt = 0;
    },
  };
}
