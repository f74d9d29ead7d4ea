/**
 * `/v1/me/webhook`: the signed-in user's notification webhook. `GET` reads it with its last
 * delivery; `PUT` sets it (`WebhookSettingSchema`: an http(s) address, a format, the app's
 * address for the Inbox link); `DELETE` removes it; `POST /test` sends a test notice now and
 * answers once it was delivered or its attempts ran out, with the recorded delivery.
 */
import {
  EngineError,
  WebhookSettingSchema,
  invalidFromZod,
  type WebhookState,
} from '@baton/engine';
import { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import type { Notifier } from '../notify/notifier.ts';
import { readWebhook, removeWebhook, saveWebhook } from '../notify/webhook-store.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

/** Two addresses and a word: anything near this size is not a webhook setting. */
export const maxWebhookBytes = 16 * 1024;

export function webhookRoutes(options: {
  db: Database;
  notifier: Pick<Notifier, 'sendTest'>;
  now: () => number;
}) {
  const { db } = options;
  const routes = new Hono<AppEnv>();

  routes.get('/', async (context) => {
    const state: WebhookState = await readWebhook(db, { userId: context.get('user').id });
    return context.json(state);
  });

  routes.put('/', async (context) => {
    const { value } = await readJson(context, { maxBytes: maxWebhookBytes });
    const parsed = WebhookSettingSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const userId = context.get('user').id;
    await saveWebhook(db, { userId, setting: parsed.data, now: options.now() });
    return context.json(await readWebhook(db, { userId }));
  });

  routes.delete('/', async (context) => {
    await removeWebhook(db, { userId: context.get('user').id });
    const state: WebhookState = { webhook: null, lastDelivery: null };
    return context.json(state);
  });

  routes.post('/test', async (context) => {
    const userId = context.get('user').id;
    const delivery = await options.notifier.sendTest({ userId });
    if (!delivery)
      throw new EngineError('not_found', 'No webhook is set: save an address first, then test it.');
    return context.json(await readWebhook(db, { userId }));
  });

  return routes;
}
