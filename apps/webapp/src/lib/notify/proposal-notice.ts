/**
 * When this browser shows a notification for proposals waiting, as pure functions: a tab that
 * sees new pending proposals while it is hidden tells the service worker
 * (`ProposalsWaitingMessage`), and the service worker, which sees every Baton tab, shows one
 * notification only when none of them is visible and only for proposals it has not told of yet.
 */
import { z } from 'zod';

/** The tag every such notification carries: a newer one replaces the older, never stacks. */
export const proposalNoticeTag = 'baton-proposals';

/** Where the preference is kept (per browser, like the permission it goes with). */
export const browserNoticeKey = 'baton.notify';

/** What a tab posts to the service worker. */
export const ProposalsWaitingMessageSchema = z.object({
  type: z.literal('proposals-waiting'),
  /** Proposals pending now, in all. */
  count: z.number().int().min(1).max(1_000_000),
  /** The pending proposals this tab had not seen before. */
  newIds: z.array(z.string().min(1).max(400)).min(1).max(1_000),
});
export type ProposalsWaitingMessage = z.infer<typeof ProposalsWaitingMessageSchema>;

/**
 * The pending proposals that were not pending at the last read. The first read of a tab
 * (`known` null) reports none: what waited when the tab opened is not news.
 */
export function newlyPending(
  known: ReadonlySet<string> | null,
  pending: readonly string[],
): string[] {
  if (known === null) return [];
  return pending.filter((id) => !known.has(id));
}

/** A tab's part: it tells the service worker only if the person asked, allowed it, and this tab is hidden. */
export function tabShouldTell(options: {
  enabled: boolean;
  permission: NotificationPermission | 'unsupported';
  hidden: boolean;
  newIds: readonly string[];
}): boolean {
  return (
    options.enabled &&
    options.permission === 'granted' &&
    options.hidden &&
    options.newIds.length > 0
  );
}

/**
 * The service worker's part: a notification when no Baton tab is visible and some of `newIds`
 * were not told of before (several tabs report the same proposals); null otherwise.
 */
export function proposalNotice(options: {
  message: ProposalsWaitingMessage;
  tabs: ReadonlyArray<{ visibilityState: DocumentVisibilityState }>;
  told: ReadonlySet<string>;
}): { title: string; body: string; tag: string; url: string; ids: string[] } | null {
  if (options.tabs.some((tab) => tab.visibilityState === 'visible')) return null;
  const ids = options.message.newIds.filter((id) => !options.told.has(id));
  if (ids.length === 0) return null;
  const { count } = options.message;
  return {
    title: `${count} proposal${count === 1 ? ' waits' : 's wait'} in the Inbox`,
    body: 'Open Baton to approve, edit or reject them.',
    tag: proposalNoticeTag,
    url: '/inbox',
    ids,
  };
}
