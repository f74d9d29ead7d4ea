/**
 * The Settings page's notification webhook, kept by the relay (`/v1/me/webhook`): read it, save
 * an address and format, remove it, or send a test. The app's own address (this worker's
 * origin) goes with a save, so the notification links this app's Inbox.
 */
import {
  EngineError,
  WebhookSettingSchema,
  WebhookStateSchema,
  invalidFromZod,
  type WebhookState,
} from '@baton/engine';
import type { ApiCall } from './api-call.ts';
import type { EngineApi } from './engine-api.ts';
import { parseRelayAnswer, relayFetch, type RelayTarget } from './relay-http.ts';

export function createWebhookApi(context: {
  /** The app's address, linked from notifications. */
  origin: string;
  target: () => RelayTarget;
  call: ApiCall;
}): Pick<EngineApi, 'webhook'> {
  return {
    webhook: (input) =>
      context.call('webhook', input, async (request): Promise<WebhookState> => {
        const target = context.target();
        if (!target.token)
          throw new EngineError(
            'unauthorized',
            'Sign in to a relay first: the relay sends these notifications.',
          );
        const send = async (method: string, path: string, body?: unknown) => {
          const answer = await relayFetch(target, `/v1/me/webhook${path}`, {
            method,
            ...(body === undefined ? {} : { body }),
            signal: AbortSignal.timeout(request.action === 'test' ? 60_000 : 10_000),
          });
          return parseRelayAnswer(WebhookStateSchema, answer.body, 'a webhook answer');
        };
        switch (request.action) {
          case 'read':
            return send('GET', '');
          case 'remove':
            return send('DELETE', '');
          case 'test':
            return send('POST', '/test');
          case 'save': {
            const parsed = WebhookSettingSchema.safeParse({
              url: request.url,
              format: request.format,
              appUrl: context.origin,
            });
            if (!parsed.success) throw invalidFromZod(parsed.error);
            return send('PUT', '', parsed.data);
          }
        }
      }),
  };
}
