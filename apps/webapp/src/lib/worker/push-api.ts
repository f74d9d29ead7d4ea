/**
 * Web Push subscriptions, kept by the relay (`/v1/me/push`): the page subscribes through its
 * service worker (only a page can) and hands the subscription here to save, or names the
 * endpoint to remove; `read` gives the relay's VAPID public key to subscribe with.
 */
import { EngineError, PushStateSchema, type PushState } from '@baton/engine';
import type { ApiCall } from './api-call.ts';
import type { EngineApi } from './engine-api.ts';
import { parseRelayAnswer, relayFetch, type RelayTarget } from './relay-http.ts';

export function createPushApi(context: {
  target: () => RelayTarget;
  call: ApiCall;
}): Pick<EngineApi, 'push'> {
  return {
    push: (input) =>
      context.call('push', input, async (request): Promise<PushState> => {
        const target = context.target();
        if (!target.token)
          throw new EngineError('unauthorized', 'Sign in to a relay first: the relay pushes.');
        const [method, body] =
          request.action === 'read'
            ? ['GET', undefined]
            : request.action === 'subscribe'
              ? ['PUT', request.subscription]
              : ['DELETE', { endpoint: request.endpoint }];
        const answer = await relayFetch(target, '/v1/me/push', {
          method,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(10_000),
        });
        return parseRelayAnswer(PushStateSchema, answer.body, 'a push answer');
      }),
  };
}
