import { isEngineError, type Claims, type ClaimResult } from '@baton/engine';
import { relayFetch, type RelayTargetSource } from './relay-http.ts';

function readClaim(body: unknown, fallbackHolder: string, fallbackExpiry: number): ClaimResult {
  const value = (body ?? {}) as Partial<ClaimResult>;
  return {
    granted: value.granted === true,
    holder: typeof value.holder === 'string' ? value.holder : fallbackHolder,
    expiresAt: typeof value.expiresAt === 'number' ? value.expiresAt : fallbackExpiry,
  };
}

/**
 * Claims through the relay (`POST /v1/claims`). When the relay cannot be reached, or this
 * device is signed out, the device plans without a claim (always granted): the merge rule keeps
 * one plan per iteration id when the two meet.
 */
export function createRelayClaims(options: {
  target: RelayTargetSource;
  now: () => number;
  onUnclaimed?: (reason: string) => void;
}): Claims {
  return {
    async claim({ iterationId, holder, ttlMs }) {
      const target = options.target();
      const unclaimed = { granted: true, holder, expiresAt: options.now() + ttlMs };
      if (!target.token) return unclaimed;
      try {
        const { status, body } = await relayFetch(target, '/v1/claims', {
          method: 'POST',
          body: { iterationId, ttlMs, holder },
          accept: [409],
        });
        const claim = readClaim(body, holder, options.now() + ttlMs);
        return status === 409 ? { ...claim, granted: false } : { ...claim, granted: true };
      } catch (error) {
        if (isEngineError(error, 'invalid')) throw error;
        options.onUnclaimed?.((error as Error).message);
        return unclaimed;
      }
    },
    async release({ iterationId }) {
      const target = options.target();
      if (!target.token) return;
      try {
        await relayFetch(target, `/v1/claims/${encodeURIComponent(iterationId)}`, {
          method: 'DELETE',
          accept: [404],
        });
      } catch {
        // The lease expires on its own.
      }
    },
  };
}
