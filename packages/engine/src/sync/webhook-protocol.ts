/**
 * The notification webhook's wire format (`/v1/me/webhook`): the setting a person saves in
 * Settings and the last delivery the relay recorded. The relay POSTs to the URL when it planned
 * runs with proposals waiting while none of the person's devices was connected.
 */
import { z } from 'zod';

/** The body's shape: a generic JSON document, or what ntfy, Slack or Discord expect. */
export const WebhookFormatSchema = z.enum(['json', 'ntfy', 'slack', 'discord']);
export type WebhookFormat = z.infer<typeof WebhookFormatSchema>;

/** An absolute http(s) URL of at most 2,000 characters, without credentials in it. */
const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `${what} is required`)
    .max(2_000, `${what} must be at most 2,000 characters`)
    .refine((text) => {
      try {
        return /^https?:$/.test(new URL(text).protocol);
      } catch {
        return false;
      }
    }, `${what} must be an http:// or https:// address`);

/** `PUT /v1/me/webhook`. `appUrl` is where the person opens Baton (the notification links its Inbox). */
export const WebhookSettingSchema = z.object({
  url: httpUrl('the webhook address'),
  format: WebhookFormatSchema,
  appUrl: httpUrl('the app address'),
});
export type WebhookSetting = z.infer<typeof WebhookSettingSchema>;

/** One delivery, as the relay recorded it after its last attempt. */
export const WebhookDeliverySchema = z.object({
  /** When the last attempt ended (epoch ms). */
  at: z.number().int().nonnegative(),
  /** `test`: the Settings button; `run`: runs the relay planned. */
  kind: z.enum(['test', 'run']),
  ok: z.boolean(),
  /** The last attempt's HTTP status; null when no answer came (network error, timeout). */
  status: z.number().int().nullable(),
  /** Why the last attempt failed, in words; null when it was delivered. */
  error: z.string().max(500).nullable(),
  attempts: z.number().int().min(1),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

/** `GET /v1/me/webhook`, and the answer of `PUT` and of `POST /v1/me/webhook/test` (`delivery`). */
export const WebhookStateSchema = z.object({
  webhook: WebhookSettingSchema.nullable(),
  lastDelivery: WebhookDeliverySchema.nullable(),
});
export type WebhookState = z.infer<typeof WebhookStateSchema>;
