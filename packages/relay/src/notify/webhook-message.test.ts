import { describe, expect, it } from 'vitest';
import { inboxUrl, webhookRequest, type Notice } from './webhook-message.ts';

const notice: Notice = {
  kind: 'proposals',
  missions: [
    { id: 'm1', title: 'Plan <my> day & week', proposals: 2 },
    { id: 'm2', title: '@everyone review', proposals: 1 },
  ],
  appUrl: 'https://baton.example/app',
  at: Date.UTC(2026, 10, 25, 8, 0),
};

describe('webhook messages', () => {
  it('links the Inbox under the app’s address, with or without a trailing slash', () => {
    expect(inboxUrl('https://baton.example/app')).toBe('https://baton.example/app/inbox');
    expect(inboxUrl('http://localhost:8787/')).toBe('http://localhost:8787/inbox');
  });

  it('sends ntfy a text body with an ASCII title and a click-through to the Inbox', () => {
    const request = webhookRequest('ntfy', notice);
    expect(request.headers).toMatchObject({
      title: '3 proposals wait in Baton',
      click: 'https://baton.example/app/inbox',
    });
    expect(request.body).toBe(
      'Planned while your devices were away: “Plan <my> day & week” (2), “@everyone review” (1).',
    );
  });

  it('escapes Slack’s control characters and links the Inbox in its own syntax', () => {
    const { text } = JSON.parse(webhookRequest('slack', notice).body) as { text: string };
    expect(text).toContain('Plan &lt;my&gt; day &amp; week');
    expect(text).toContain('<https://baton.example/app/inbox|Open the Inbox>');
  });

  it('never lets a mission title ping a Discord server', () => {
    const body = JSON.parse(webhookRequest('discord', notice).body) as {
      content: string;
      allowed_mentions: { parse: string[] };
    };
    expect(body.content).toContain('@everyone review');
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('names one mission and its count in the generic JSON', () => {
    const single: Notice = { ...notice, missions: [notice.missions[1]!] };
    expect(JSON.parse(webhookRequest('json', single).body)).toEqual({
      event: 'proposals_waiting',
      title: '1 proposal waits in Baton',
      message: '“@everyone review” planned 1 proposal while your devices were away.',
      proposals: 1,
      missions: [{ id: 'm2', title: '@everyone review', proposals: 1 }],
      inboxUrl: 'https://baton.example/app/inbox',
      at: '2026-11-25T08:00:00.000Z',
    });
  });
});
