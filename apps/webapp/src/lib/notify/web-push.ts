/**
 * This browser's Web Push subscription: made through the service worker's push manager with the
 * relay's VAPID key and handed to the relay, or dropped on both sides. Push is what reaches a
 * browser with every Baton tab closed; not every browser has a push service (Chromium builds
 * without Google's keys have none), so each outcome is a value with a reason.
 */
import { engineClient } from '$lib/engine-client.ts';

export type PushOutcome = { ok: true } | { ok: false; reason: string };

export async function subscribeToPush(): Promise<PushOutcome> {
  if (!('PushManager' in window)) return { ok: false, reason: 'this browser has no Web Push' };
  const state = await engineClient().push({ action: 'read' });
  if (!state.ok) return { ok: false, reason: state.error.message };
  try {
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: state.value.publicKey,
    });
    const json = subscription.toJSON();
    const saved = await engineClient().push({
      action: 'subscribe',
      subscription: {
        endpoint: json.endpoint ?? subscription.endpoint,
        keys: { p256dh: json.keys?.['p256dh'] ?? '', auth: json.keys?.['auth'] ?? '' },
      },
    });
    return saved.ok ? { ok: true } : { ok: false, reason: saved.error.message };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

export async function unsubscribeFromPush(): Promise<void> {
  if (!('PushManager' in window)) return;
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return;
  await engineClient().push({ action: 'unsubscribe', endpoint: subscription.endpoint });
  await subscription.unsubscribe();
}
