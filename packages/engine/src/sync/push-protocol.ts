/**
 * Web Push's wire format (`/v1/me/push`): a browser's push subscription as the relay keeps it,
 * and the relay's VAPID public key a browser subscribes with. The relay pushes the same notice
 * as its webhook (runs planned while no device was connected, proposals waiting).
 */
import { z } from 'zod';

/** base64url without padding, as `PushSubscription.toJSON()` gives keys. */
const base64url = (what: string, bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, `${what} must be base64url`)
    .refine(
      (text) => Math.floor((text.length * 3) / 4) === bytes,
      `${what} must be ${bytes} bytes`,
    );

/** `PUT /v1/me/push`: `PushSubscription.toJSON()` and the app's address. */
export const PushSubscriptionSchema = z.object({
  endpoint: z
    .string()
    .max(2_000)
    .refine((text) => {
      try {
        return /^https?:$/.test(new URL(text).protocol);
      } catch {
        return false;
      }
    }, 'the push endpoint must be an http:// or https:// address'),
  keys: z.object({ p256dh: base64url('p256dh', 65), auth: base64url('auth', 16) }),
});
export type PushSubscriptionData = z.infer<typeof PushSubscriptionSchema>;

/** `DELETE /v1/me/push`. */
export const PushUnsubscribeSchema = z.object({ endpoint: z.string().min(1).max(2_000) });

/** `GET /v1/me/push`, and the answer of `PUT` and `DELETE`. */
export const PushStateSchema = z.object({
  /** The relay's VAPID public key (base64url), the `applicationServerKey` to subscribe with. */
  publicKey: z.string().min(1),
  /** The user's subscriptions (one per browser that allowed push). */
  subscriptions: z.number().int().nonnegative(),
});
export type PushState = z.infer<typeof PushStateSchema>;

/** What the relay pushes; the service worker shows it. */
export const PushNoticeSchema = z.object({
  title: z.string().max(200),
  body: z.string().max(2_000),
  url: z.string().max(2_000),
});
export type PushNotice = z.infer<typeof PushNoticeSchema>;
