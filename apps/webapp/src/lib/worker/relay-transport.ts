import { PullResponseSchema, PushResponseSchema, type Change, type Transport } from '@baton/engine';
import { parseRelayAnswer, relayFetch, type RelayTargetSource } from './relay-http.ts';

/**
 * The engine's `Transport` over the relay's HTTP API (`/v1/sync/push`, `/v1/sync/pull`). The
 * target is read on every call, so a settings change applies at once. Rejects as `relayFetch`
 * does (`unavailable` when unreachable, `unauthorized`, `invalid` with the refused `field`, e.g.
 * `changes.3.hlc`, …) and with an `internal` EngineError when an answer does not fit the protocol.
 */
export function createRelayTransport(options: { target: RelayTargetSource }): Transport {
  return {
    async push(request) {
      const { body } = await relayFetch(options.target(), '/v1/sync/push', {
        method: 'POST',
        body: { deviceId: request.deviceId, changes: request.changes },
      });
      return parseRelayAnswer(PushResponseSchema, body, 'a push answer');
    },
    async pull(request) {
      const query = new URLSearchParams({ limit: String(request.limit) });
      if (request.since) query.set('since', request.since);
      const { body } = await relayFetch(options.target(), `/v1/sync/pull?${query}`);
      const page = parseRelayAnswer(PullResponseSchema, body, 'a pull page');
      // Each change is checked where it is applied (the engine refuses an unreadable one and
      // applies the rest), so the page is passed on as the relay sent it.
      return { changes: page.changes as Change[], cursor: page.cursor, more: page.more };
    },
  };
}
