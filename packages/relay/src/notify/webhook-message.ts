/**
 * What a notification says, and the HTTP request that says it in each webhook format: a generic
 * JSON document, an ntfy message (text body, `Title` and `Click` headers), a Slack incoming
 * webhook (`text`) or a Discord one (`content`, with mentions turned off).
 */
import type { WebhookFormat } from '@baton/engine';

/** Runs the relay planned with proposals waiting, per mission; or a test from Settings. */
export type Notice =
  | {
      kind: 'proposals';
      missions: Array<{ id: string; title: string; proposals: number }>;
      appUrl: string;
      at: number;
    }
  | { kind: 'test'; appUrl: string; at: number };

export interface WebhookRequest {
  headers: Record<string, string>;
  body: string;
}

/** The Inbox's address under the app's (which may sit under a path). */
export function inboxUrl(appUrl: string): string {
  return new URL('inbox', appUrl.endsWith('/') ? appUrl : `${appUrl}/`).href;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** The notice in words: an ASCII title (it travels in an HTTP header for ntfy) and a message. */
export function noticeText(notice: Notice): { title: string; message: string; count: number } {
  if (notice.kind === 'test')
    return {
      title: 'Baton test notification',
      message: 'Notifications from your Baton relay reach this address.',
      count: 0,
    };
  const count = notice.missions.reduce((sum, mission) => sum + mission.proposals, 0);
  const [only] = notice.missions;
  const message =
    notice.missions.length === 1 && only
      ? `“${only.title}” planned ${plural(only.proposals, 'proposal')} while your devices were away.`
      : `Planned while your devices were away: ${notice.missions
          .map((mission) => `“${mission.title}” (${mission.proposals})`)
          .join(', ')}.`;
  return {
    title: `${plural(count, 'proposal')} ${count === 1 ? 'waits' : 'wait'} in Baton`,
    message,
    count,
  };
}

/** Slack's mrkdwn treats these three as control characters. */
const slackEscape = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The request body and headers for one format. */
export function webhookRequest(format: WebhookFormat, notice: Notice): WebhookRequest {
  const { title, message, count } = noticeText(notice);
  const link = inboxUrl(notice.appUrl);
  const json = (value: unknown): WebhookRequest => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value),
  });
  switch (format) {
    case 'json':
      return json({
        event: notice.kind === 'test' ? 'test' : 'proposals_waiting',
        title,
        message,
        proposals: count,
        missions: notice.kind === 'proposals' ? notice.missions : [],
        inboxUrl: link,
        at: new Date(notice.at).toISOString(),
      });
    case 'ntfy':
      return {
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          title,
          click: link,
          tags: 'inbox_tray',
        },
        body: message,
      };
    case 'slack':
      return json({ text: `*${title}*\n${slackEscape(message)}\n<${link}|Open the Inbox>` });
    case 'discord':
      return json({
        content: `**${title}**\n${message}\n[Open the Inbox](<${link}>)`.slice(0, 2_000),
        // A mission called "@everyone" must not ping a whole server.
        allowed_mentions: { parse: [] },
      });
  }
}
