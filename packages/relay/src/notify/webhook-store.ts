/**
 * Each user's notification webhook and its last delivery, in the `webhooks` table (one row per
 * user). Rows read back are checked with the engine's schemas: a row that fails reads as no
 * webhook rather than sending to an address nobody saved.
 */
import {
  WebhookDeliverySchema,
  WebhookSettingSchema,
  type WebhookDelivery,
  type WebhookSetting,
  type WebhookState,
} from '@baton/engine';
import type { SqlRunner } from '../db/database.ts';

interface WebhookRow {
  url: string;
  format: string;
  app_url: string;
  last_delivery: unknown;
}

/** The user's webhook and its last delivery (both null when none is set). */
export async function readWebhook(
  db: SqlRunner,
  options: { userId: string },
): Promise<WebhookState> {
  const [row] = await db.query<WebhookRow>(
    'select url, format, app_url, last_delivery from webhooks where user_id = $1',
    [options.userId],
  );
  if (!row) return { webhook: null, lastDelivery: null };
  const webhook = WebhookSettingSchema.safeParse({
    url: row.url,
    format: row.format,
    appUrl: row.app_url,
  });
  const delivery = WebhookDeliverySchema.safeParse(row.last_delivery);
  return {
    webhook: webhook.success ? webhook.data : null,
    lastDelivery: delivery.success ? delivery.data : null,
  };
}

/**
 * Sets the user's webhook. The last delivery is kept while the address stays the same and
 * forgotten when it changes (it said nothing about the new address).
 */
export async function saveWebhook(
  db: SqlRunner,
  options: { userId: string; setting: WebhookSetting; now: number },
): Promise<void> {
  const { userId, setting, now } = options;
  await db.query(
    `insert into webhooks (user_id, url, format, app_url, updated_at)
       values ($1, $2, $3, $4, $5::bigint)
     on conflict (user_id) do update set
       url = excluded.url, format = excluded.format, app_url = excluded.app_url,
       updated_at = excluded.updated_at,
       last_delivery = case when webhooks.url = excluded.url then webhooks.last_delivery end`,
    [userId, setting.url, setting.format, setting.appUrl, now],
  );
}

/** Removes the user's webhook; true when there was one. */
export async function removeWebhook(db: SqlRunner, options: { userId: string }): Promise<boolean> {
  const removed = await db.query('delete from webhooks where user_id = $1 returning user_id', [
    options.userId,
  ]);
  return removed.length > 0;
}

/** Records a delivery to `url`, unless the user has since changed or removed the webhook. */
export async function recordDelivery(
  db: SqlRunner,
  options: { userId: string; url: string; delivery: WebhookDelivery },
): Promise<void> {
  await db.query('update webhooks set last_delivery = $3::jsonb where user_id = $1 and url = $2', [
    options.userId,
    options.url,
    JSON.stringify(options.delivery),
  ]);
}
