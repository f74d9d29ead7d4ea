import type { ClaimResult, Claims, Clock } from '../ports.ts';

/**
 * The reference Claims: leases in a Map, read against `clock`. One holder per iteration id; a
 * lease held by someone else is refused until it expires; the holder may renew its own.
 */
export function createMemoryClaims(options: { clock: Clock }): Claims & {
  /** Current leases by iteration id (expired ones included until taken over). */
  readonly leases: ReadonlyMap<string, { holder: string; expiresAt: number }>;
} {
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  return {
    leases,
    async claim({ iterationId, holder, ttlMs }): Promise<ClaimResult> {
      const now = options.clock.now();
      const current = leases.get(iterationId);
      if (current && current.holder !== holder && current.expiresAt > now)
        return { granted: false, ...current };
      const lease = { holder, expiresAt: now + ttlMs };
      leases.set(iterationId, lease);
      return { granted: true, ...lease };
    },
    async release({ iterationId, holder }) {
      if (leases.get(iterationId)?.holder === holder) leases.delete(iterationId);
    },
  };
}
