import { ClaimResponseSchema, isEngineError, type Claims } from '@baton/engine';
import { parseRelayAnswer, relayFetch, type RelayTargetSource } from './relay-http.ts';

/**
 * Claims through the relay (`POST /v1/claims`). When the relay cannot be reached, or this
 * device is signed out, the device plans without a claim (always granted): the merge rule keeps
 * one plan per iteration id when the two meet. An answer that does not fit ClaimResponseSchema
 * throws: that slot waits for the next tick instead of being planned on a guess.
 */
export function createRelayClaims(options: {
  target: RelayTargetSource;
  now: () => number;
  /**
   * Who holds this host's claims: the host itself (its clock's node id), never the whole
   * device, so a reloaded tab's new worker does not renew the old worker's lease.
   */
  holder: string;
  onUnclaimed?: (reason: string) => void;
}): Claims {
  const { holder } = options;
  return {
    async claim({ iterationId, ttlMs, now, retry }) {
      const target = options.target();
      const unclaimed = {
        granted: true,
        holder,
        expiresAt: options.now() + ttlMs,
        unclaimed: true,
      };
      if (!target.token) return unclaimed;
      let answer: { status: number; body: unknown };
      try {
        answer = await relayFetch(target, '/v1/claims', {
          method: 'POST',
          body: {
            iterationId,
            ttlMs,
            holder,
            ...(now === undefined ? {} : { now }),
            ...(retry ? { retry } : {}),
          },
          accept: [409],
        });
      } catch (error) {
        // Unreachable, or a refused token (as good as signed out): plan on our own.
        if (!isEngineError(error, 'unavailable') && !isEngineError(error, 'unauthorized'))
          throw error;
        options.onUnclaimed?.((error as Error).message);
        return unclaimed;
      }
      const claim = parseRelayAnswer(ClaimResponseSchema, answer.body, 'a claim answer');
      return { ...claim, granted: answer.status !== 409 && claim.granted };
    },
    async release({ iterationId }) {
      const target = options.target();
      if (!target.token) return;
      try {
        const query = `holder=${encodeURIComponent(holder)}`;
        await relayFetch(target, `/v1/claims/${encodeURIComponent(iterationId)}?${query}`, {
          method: 'DELETE',
          accept: [404],
        });
      } catch {
        // The lease expires on its own.
      }
    },
  };
}
