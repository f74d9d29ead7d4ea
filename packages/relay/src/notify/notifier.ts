/**
 * Sends each user's webhook and Web Push notifications in the background: `runsPlanned` returns at once (a
 * tick never waits on a webhook) and the delivery, with its retries, runs on its own; every
 * delivery ends with its outcome recorded as the user's last delivery. `close()` waits a little
 * for deliveries in flight, then aborts them.
 */
import { readRows, type StoreReader, type WebhookDelivery } from '@baton/engine';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { pushSubscriptions, removePushSubscription, vapidKeys } from './push-store.ts';
import { sendPush } from './send-push.ts';
import { sendWebhook } from './send-webhook.ts';
import { noticeText, webhookRequest, type Notice } from './webhook-message.ts';
import { readWebhook, recordDelivery } from './webhook-store.ts';

export interface Notifier {
  /**
   * The relay planned `iterationIds` for a user none of whose devices was connected: when some
   * of them have proposals waiting, the user's webhook and push subscriptions (if any) hear of
   * it. Returns at once.
   */
  runsPlanned(options: { userId: string; store: StoreReader; iterationIds: string[] }): void;
  /** Sends a test notice now and returns the recorded delivery (null when no webhook is set). */
  sendTest(options: { userId: string }): Promise<WebhookDelivery | null>;
  /** Resolves when no delivery is in flight (tests wait on it). */
  idle(): Promise<void>;
  close(options?: { drainMs?: number }): Promise<void>;
}

/** Missions with proposals waiting among `iterationIds`, with how many each. */
export async function waitingProposals(options: {
  store: StoreReader;
  iterationIds: string[];
}): Promise<Array<{ id: string; title: string; proposals: number }>> {
  const counts = new Map<string, number>();
  for (const iterationId of options.iterationIds) {
    const rows = await options.store.list('proposals', {
      field: 'iterationId',
      equals: iterationId,
    });
    for (const proposal of readRows('proposals', rows))
      if (proposal.status === 'pending')
        counts.set(proposal.missionId, (counts.get(proposal.missionId) ?? 0) + 1);
  }
  const ids = [...counts.keys()];
  const missions = readRows(
    'missions',
    (await options.store.getMany(ids.map((id) => ({ table: 'missions' as const, id })))).filter(
      (row) => row !== undefined,
    ),
  );
  const titles = new Map(missions.map((mission) => [mission.id, mission.title]));
  return ids.map((id) => ({ id, title: titles.get(id) ?? id, proposals: counts.get(id) ?? 0 }));
}

export function createNotifier(options: {
  db: Database;
  logger: Logger;
  now?: () => number;
  /** Waits between attempts (default 2 s then 10 s: three attempts). */
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Notifier {
  const { db, logger } = options;
  const now = options.now ?? Date.now;
  const abort = new AbortController();
  const inFlight = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  async function deliver(userId: string, notice: (appUrl: string) => Notice | undefined) {
    const { webhook } = await readWebhook(db, { userId });
    if (!webhook) return null;
    const message = notice(webhook.appUrl);
    if (!message) return null;
    const request = webhookRequest(webhook.format, message);
    const outcome = await sendWebhook({
      url: webhook.url,
      ...request,
      signal: abort.signal,
      ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const delivery: WebhookDelivery = {
      at: now(),
      kind: message.kind === 'test' ? 'test' : 'run',
      ...outcome,
      attempts: Math.max(1, outcome.attempts),
    };
    await recordDelivery(db, { userId, url: webhook.url, delivery });
    if (!delivery.ok)
      logger.warn(
        { userId, status: delivery.status, attempts: delivery.attempts, error: delivery.error },
        'webhook notification not delivered',
      );
    return delivery;
  }

  /**
   * Pushes the notice to each of the user's browsers; a subscription the push service no longer
   * knows (404, 410) is removed.
   */
  async function push(userId: string, notice: Notice): Promise<void> {
    const subscriptions = await pushSubscriptions(db, { userId });
    if (subscriptions.length === 0) return;
    const vapid = await vapidKeys(db, { now: now() });
    const { title, message } = noticeText(notice);
    for (const subscription of subscriptions) {
      const outcome = await sendPush({
        subscription,
        notice: { title, body: message, url: '/inbox' },
        vapid,
        signal: abort.signal,
        ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      });
      if (outcome.status === 404 || outcome.status === 410)
        await removePushSubscription(db, { userId, endpoint: subscription.endpoint });
      else if (!outcome.ok)
        logger.warn(
          { userId, status: outcome.status, attempts: outcome.attempts, error: outcome.error },
          'push notification not delivered',
        );
    }
  }

  async function idle(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return {
    runsPlanned({ userId, store, iterationIds }) {
      if (iterationIds.length === 0 || abort.signal.aborted) return;
      void track(
        (async () => {
          // Most users set neither: their plans cost one indexed read here, not a proposal scan.
          const [{ webhook }, subscriptions] = await Promise.all([
            readWebhook(db, { userId }),
            pushSubscriptions(db, { userId }),
          ]);
          if (!webhook && subscriptions.length === 0) return;
          const missions = await waitingProposals({ store, iterationIds });
          if (missions.length === 0) return;
          const at = now();
          await Promise.all([
            deliver(userId, (appUrl) => ({ kind: 'proposals', missions, appUrl, at })),
            push(userId, { kind: 'proposals', missions, appUrl: '', at }),
          ]);
        })(),
      ).catch((error: unknown) => logger.warn({ err: error, userId }, 'notification failed'));
    },
    sendTest({ userId }) {
      return track(deliver(userId, (appUrl) => ({ kind: 'test', appUrl, at: now() })));
    },
    idle,
    async close({ drainMs = 3_000 } = {}) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        idle(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
      abort.abort();
      await idle();
    },
  };
}
