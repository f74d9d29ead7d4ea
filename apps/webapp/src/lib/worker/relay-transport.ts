import { PullResponseSchema, PushResponseSchema, type Change, type Transport } from '@baton/engine';
import { parseRelayAnswer, relayAnswer, relayFetch, type RelayTargetSource } from './relay-http.ts';

/** A push's body: what `POST /v1/sync/push` is sent. */
export interface LivePushBody {
  deviceId: string;
  changes: Change[];
}

/**
 * Sends a push's body on the live connection (decision 0020), resolving with the relay's status
 * and body; `undefined` when it cannot (no open connection, or a push too large for one
 * message), and a rejection when the connection ended before the answer: the push then goes
 * over HTTP, which is safe because pushes are idempotent by change id.
 */
export type LivePush = (
  push: LivePushBody,
) => Promise<{ status: number; body: unknown }> | undefined;

/**
 * The engine's `Transport` over the relay's HTTP API (`/v1/sync/push`, `/v1/sync/pull`), with
 * small pushes on the live connection when one is open (`live`). The target is read on every
 * call, so a settings change applies at once. Rejects as `relayFetch` does (`unavailable` when
 * unreachable, `unauthorized`, `invalid` with the refused `field`, e.g. `changes.3.hlc`, …) and
 * with an `internal` EngineError when an answer does not fit the protocol.
 */
export function createRelayTransport(options: {
  target: RelayTargetSource;
  live?: LivePush;
}): Transport {
  return {
    async push(request) {
      const push: LivePushBody = { deviceId: request.deviceId, changes: request.changes };
      const viaLive = options.live?.(push);
      if (viaLive) {
        const answer = await viaLive.catch(() => undefined);
        if (answer) {
          const { body } = relayAnswer(answer.status, answer.body);
          return parseRelayAnswer(PushResponseSchema, body, 'a push answer');
        }
      }
      const { body } = await relayFetch(options.target(), '/v1/sync/push', {
        method: 'POST',
        body: push,
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
