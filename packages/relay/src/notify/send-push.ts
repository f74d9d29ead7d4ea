/**
 * One Web Push message: the `web-push` package encrypts the payload to the subscription's keys
 * (aes128gcm, RFC 8291) and signs the VAPID header; `sendWebhook` POSTs it to the push service
 * with the same retries as a webhook.
 */
import type { PushNotice, PushSubscriptionData } from '@baton/engine';
import webpush from 'web-push';
import type { VapidKeys } from './push-store.ts';
import { sendWebhook, type DeliveryOutcome } from './send-webhook.ts';

/**
 * The VAPID `sub` claim: a contact for the push service. Services only check its form; the
 * relay has no address of its own to give.
 */
export const vapidSubject = 'mailto:relay@baton.invalid';

export function sendPush(options: {
  subscription: PushSubscriptionData;
  notice: PushNotice;
  vapid: VapidKeys;
  signal: AbortSignal;
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
}): Promise<DeliveryOutcome> {
  const details = webpush.generateRequestDetails(
    options.subscription,
    JSON.stringify(options.notice),
    {
      vapidDetails: { subject: vapidSubject, ...options.vapid },
      // A notice older than a day is no longer news.
      TTL: 24 * 3600,
      contentEncoding: 'aes128gcm',
    },
  );
  // fetch counts the body itself.
  const headers = Object.fromEntries(
    Object.entries(details.headers)
      .filter(([name]) => name.toLowerCase() !== 'content-length')
      .map(([name, value]) => [name, String(value)]),
  );
  return sendWebhook({
    url: details.endpoint,
    headers,
    body: new Uint8Array(details.body),
    signal: options.signal,
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}
