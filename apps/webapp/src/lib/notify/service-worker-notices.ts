/// <reference lib="webworker" />
/**
 * The service worker's part of proposal notifications: it hears `proposals-waiting` from tabs,
 * looks at every Baton tab, and shows one notification (tag `baton-proposals`) only while none is
 * visible; it shows the relay's Web Push notices too; a click focuses a Baton tab on the Inbox,
 * or opens one.
 */
import { PushNoticeSchema } from '@baton/engine';
import {
  ProposalsWaitingMessageSchema,
  proposalNotice,
  proposalNoticeTag,
} from './proposal-notice.ts';

export function installProposalNotices(sw: ServiceWorkerGlobalScope): void {
  // Proposals already told of, while this worker lives (several tabs report the same ones; after
  // a restart the tag still keeps it to one notification on screen).
  const told = new Set<string>();

  sw.addEventListener('message', (event) => {
    const parsed = ProposalsWaitingMessageSchema.safeParse(event.data);
    if (!parsed.success) return;
    event.waitUntil(
      (async () => {
        const tabs = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
        const notice = proposalNotice({ message: parsed.data, tabs, told });
        if (!notice || Notification.permission !== 'granted') return;
        for (const id of notice.ids) told.add(id);
        await sw.registration.showNotification(notice.title, {
          body: notice.body,
          tag: notice.tag,
          data: { url: notice.url },
          icon: '/favicon.svg',
        });
      })(),
    );
  });

  // The relay's push (runs it planned while every tab was closed): shown as it comes.
  sw.addEventListener('push', (event) => {
    let data: unknown = null;
    try {
      data = event.data?.json();
    } catch {
      // not JSON: shown below with a plain message
    }
    const parsed = PushNoticeSchema.safeParse(data);
    const notice = parsed.success
      ? parsed.data
      : { title: 'Baton', body: 'Proposals may wait in the Inbox.', url: '/inbox' };
    event.waitUntil(
      sw.registration.showNotification(notice.title, {
        body: notice.body,
        tag: proposalNoticeTag,
        data: { url: notice.url },
        icon: '/favicon.svg',
      }),
    );
  });

  sw.addEventListener('notificationclick', (event) => {
    event.notification.close();
    const url = new URL('/inbox', sw.location.origin).href;
    event.waitUntil(
      (async () => {
        const tabs = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
        const tab = tabs[0];
        if (tab) {
          const focused = await tab.focus();
          await focused.navigate(url).catch(() => undefined);
          return;
        }
        await sw.clients.openWindow(url);
      })(),
    );
  });
}
