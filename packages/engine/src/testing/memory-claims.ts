import type { ClaimResult, Claims, Clock } from '../ports.ts';
import { claimAnswer, decideClaim, type Lease } from '../runner/claim-rule.ts';

/**
 * The reference Claims: leases in a Map, read against `clock`, granted by the engine's claim
 * rule (one holder per iteration id; another holder's lease is refused until it expires; the
 * holder may renew its own).
 */
export function createMemoryClaims(options: { clock: Clock }): Claims & {
  /** Current leases by iteration id (expired ones included until taken over). */
  readonly leases: ReadonlyMap<string, Lease>;
} {
  const leases = new Map<string, Lease>();
  return {
    leases,
    async claim({ iterationId, holder, ttlMs, now, retry }): Promise<ClaimResult> {
      const decision = decideClaim({
        current: leases.get(iterationId),
        holder,
        ttlMs,
        now: options.clock.now(),
        requesterNow: now,
        retry,
      });
      if (decision.granted) leases.set(iterationId, decision.lease);
      return claimAnswer(decision);
    },
    async release({ iterationId, holder }) {
      if (leases.get(iterationId)?.holder === holder) leases.delete(iterationId);
    },
  };
}
