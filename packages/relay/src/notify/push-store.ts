/**
 * Web Push on the relay's side: its VAPID key pair (made once, on first use, and shared by every
 * instance through the database) and each user's push subscriptions (one per browser).
 */
import { PushSubscriptionSchema, type PushSubscriptionData } from '@baton/engine';
import webpush from 'web-push';
import type { SqlRunner } from '../db/database.ts';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** The relay's VAPID keys, made on first use; instances racing to make them agree on one pair. */
export async function vapidKeys(db: SqlRunner, options: { now: number }): Promise<VapidKeys> {
  const read = () =>
    db.query<{ public_key: string; private_key: string }>(
      'select public_key, private_key from push_keys where id = 1',
    );
  let [row] = await read();
  if (!row) {
    const made = webpush.generateVAPIDKeys();
    await db.query(
      `insert into push_keys (id, public_key, private_key, created_at)
         values (1, $1, $2, $3::bigint) on conflict (id) do nothing`,
      [made.publicKey, made.privateKey, options.now],
    );
    [row] = await read();
  }
  if (!row) throw new Error('the VAPID keys could not be stored');
  return { publicKey: row.public_key, privateKey: row.private_key };
}

export async function savePushSubscription(
  db: SqlRunner,
  options: { userId: string; subscription: PushSubscriptionData; now: number },
): Promise<void> {
  const { userId, subscription, now } = options;
  await db.query(
    `insert into push_subscriptions (user_id, endpoint, p256dh, auth, created_at)
       values ($1, $2, $3, $4, $5::bigint)
     on conflict (user_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth`,
    [userId, subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth, now],
  );
}

export async function removePushSubscription(
  db: SqlRunner,
  options: { userId: string; endpoint: string },
): Promise<void> {
  await db.query('delete from push_subscriptions where user_id = $1 and endpoint = $2', [
    options.userId,
    options.endpoint,
  ]);
}

/** The user's subscriptions; a row that fails the schema is left out. */
export async function pushSubscriptions(
  db: SqlRunner,
  options: { userId: string },
): Promise<PushSubscriptionData[]> {
  const rows = await db.query<{ endpoint: string; p256dh: string; auth: string }>(
    'select endpoint, p256dh, auth from push_subscriptions where user_id = $1 order by endpoint',
    [options.userId],
  );
  return rows.flatMap((row) => {
    const parsed = PushSubscriptionSchema.safeParse({
      endpoint: row.endpoint,
      keys: { p256dh: row.p256dh, auth: row.auth },
    });
    return parsed.success ? [parsed.data] : [];
  });
}
