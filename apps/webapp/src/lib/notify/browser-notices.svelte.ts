/**
 * This browser's side of proposal notifications: the person's choice (asked for in Settings,
 * never on load) and the watcher every page runs. A page that sees new pending proposals while it
 * is hidden tells the service worker, which shows a notification only if no Baton tab is visible
 * (proposal-notice.ts); clicking it opens the Inbox (service-worker-notices.ts).
 */
import { liveQuery } from 'dexie';
import { listRows } from '$lib/queries.ts';
import {
  browserNoticeKey,
  newlyPending,
  tabShouldTell,
  type ProposalsWaitingMessage,
} from './proposal-notice.ts';

export type BrowserNoticePermission = NotificationPermission | 'unsupported';

export function noticePermission(): BrowserNoticePermission {
  return typeof Notification === 'undefined' || !('serviceWorker' in navigator)
    ? 'unsupported'
    : Notification.permission;
}

/** Whether the person asked for notifications in this browser (and has not turned them off). */
export function noticesWanted(): boolean {
  try {
    return localStorage.getItem(browserNoticeKey) === 'on';
  } catch {
    return false;
  }
}

/**
 * Turns notifications on (asking the browser's permission first, when it has not been given) or
 * off. Resolves with the permission as it is afterwards; they are on only when it is `granted`.
 */
export async function setNoticesWanted(wanted: boolean): Promise<BrowserNoticePermission> {
  let permission = noticePermission();
  if (wanted && permission === 'default') permission = await Notification.requestPermission();
  const on = wanted && permission === 'granted';
  try {
    if (on) localStorage.setItem(browserNoticeKey, 'on');
    else localStorage.removeItem(browserNoticeKey);
  } catch {
    // Storage refused (a private window's quota): notifications simply stay off.
  }
  return permission;
}

/** Watches pending proposals for the page's lifetime (call while a component initialises). */
export function watchProposalsForNotices(): void {
  $effect(() => {
    let known: Set<string> | null = null;
    const subscription = liveQuery(async () =>
      (await listRows('proposals'))
        .filter((proposal) => proposal.status === 'pending')
        .map((proposal) => proposal.id),
    ).subscribe({
      next: (pending) => {
        const newIds = newlyPending(known, pending);
        known = new Set(pending);
        const tell = tabShouldTell({
          enabled: noticesWanted(),
          permission: noticePermission(),
          hidden: document.visibilityState === 'hidden',
          newIds,
        });
        if (!tell) return;
        const message: ProposalsWaitingMessage = {
          type: 'proposals-waiting',
          count: pending.length,
          newIds: newIds.slice(0, 1_000),
        };
        void navigator.serviceWorker.ready
          .then((registration) => registration.active?.postMessage(message))
          .catch(() => undefined);
      },
      error: () => undefined,
    });
    return () => subscription.unsubscribe();
  });
}
