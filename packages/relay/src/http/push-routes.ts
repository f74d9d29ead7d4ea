/**
 * `/v1/me/push`: the signed-in user's Web Push subscriptions. `GET` gives the relay's VAPID
 * public key (to subscribe with) and how many subscriptions the user has; `PUT` saves a
 * browser's `PushSubscription.toJSON()`; `DELETE {endpoint}` removes one.
 */
import {
  PushSubscriptionSchema,
  PushUnsubscribeSchema,
  invalidFromZod,
  type PushState,
} from '@baton/engine';
import { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import {
  pushSubscriptions,
  removePushSubscription,
  savePushSubscription,
  vapidKeys,
} from '../notify/push-store.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

/** A subscription is an address and two keys. */
export const maxPushBytes = 16 * 1024;

export function pushRoutes(options: { db: Database; now: () => number }) {
  const { db } = options;
  const routes = new Hono<AppEnv>();

  async function state(userId: string): Promise<PushState> {
    const { publicKey } = await vapidKeys(db, { now: options.now() });
    return { publicKey, subscriptions: (await pushSubscriptions(db, { userId })).length };
  }

  routes.get('/', async (context) => context.json(await state(context.get('user').id)));

  routes.put('/', async (context) => {
    const { value } = await readJson(context, { maxBytes: maxPushBytes });
    const parsed = PushSubscriptionSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const userId = context.get('user').id;
    await savePushSubscription(db, { userId, subscription: parsed.data, now: options.now() });
    return context.json(await state(userId));
  });

  routes.delete('/', async (context) => {
    const { value } = await readJson(context, { maxBytes: maxPushBytes });
    const parsed = PushUnsubscribeSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const userId = context.get('user').id;
    await removePushSubscription(db, { userId, endpoint: parsed.data.endpoint });
    return context.json(await state(userId));
  });

  return routes;
}
