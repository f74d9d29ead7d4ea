import { createWebhookServer, type WebhookServer } from '@baton/relay/testing/webhook-server';
import {
  createNearDueMission,
  expect,
  planningRuns,
  proposalCard,
  relayRowIds,
  signIn,
  test,
} from '../fixtures.ts';

const hour = 3_600_000;

/** The notifications a webhook received about runs (not tests), as the JSON they carried. */
function runNotices(hook: WebhookServer): Array<Record<string, unknown>> {
  return hook.received
    .map((request) => JSON.parse(request.body) as Record<string, unknown>)
    .filter((body) => body.event === 'proposals_waiting');
}

test('the relay tells the webhook set in Settings about runs it planned while every tab was closed', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const hook = await createWebhookServer();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Signing in leaves the page on Settings. A click on its link now would navigate to the same
    // page while the next step types: SvelteKit blurs the focused field before it renders a
    // navigation, and text typed after that blur goes nowhere.
    await signIn(page, relay);
    const section = page.getByRole('region', { name: 'Notify me through a webhook' });

    // A wrong address is refused with a reason, next to the field.
    await section.getByLabel('Webhook address').fill('ftp://example.com/hook');
    await section.getByRole('button', { name: 'Save webhook' }).click();
    await expect(section.getByLabel('Webhook address')).toHaveAttribute('aria-invalid', 'true');
    await expect(section).toContainText('must be an http:// or https:// address');

    await section.getByLabel('Webhook address').fill(hook.url);
    await section.getByLabel('Format').selectOption({ label: 'Generic JSON' });
    await section.getByRole('button', { name: 'Save webhook' }).click();
    await expect(section.getByRole('status').first()).toContainText('Saved');
    await expect(section.getByLabel('Webhook address')).not.toHaveAttribute('aria-invalid');
    await section.getByRole('button', { name: 'Send a test' }).click();
    const lastDelivery = section.getByTestId('webhook-last-delivery');
    await expect(lastDelivery).toContainText('(test), delivered (HTTP 200), 1 attempt');
    expect(hook.received).toHaveLength(1);
    expect(JSON.parse(hook.received[0]!.body)).toMatchObject({ event: 'test' });

    // The first attempt at the run's notification fails: the relay tries again.
    hook.answerWith([503]);
    const { missionId, iterationId, slotMs } = await createNearDueMission(page, {
      title: 'Morning sweep',
      objective: 'Propose one small task',
      dueInMs: 8_000,
      everyMs: hour,
    });
    await expect.poll(() => relayRowIds(relay, 'missions')).toContain(missionId);
    await page.close();
    expect(Date.now(), 'the tab closed before the slot was due').toBeLessThan(slotMs);

    await expect
      .poll(() => relayRowIds(relay, 'iterations'), { timeout: 30_000 })
      .toContain(iterationId);
    await expect.poll(() => runNotices(hook).length, { timeout: 30_000 }).toBe(2);
    expect(hook.received.map((request) => request.status)).toEqual([200, 503, 200]);
    const [failed, delivered] = runNotices(hook);
    expect(failed).toEqual(delivered);
    expect(delivered).toMatchObject({
      title: '1 proposal waits in Baton',
      message: '“Morning sweep” planned 1 proposal while your devices were away.',
      proposals: 1,
      missions: [{ id: missionId, title: 'Morning sweep', proposals: 1 }],
      inboxUrl: `${relay.url}/inbox`,
    });
    expect(planningRuns(model)).toHaveLength(1);

    // The link opens the Inbox with the proposal waiting; Settings shows the delivery.
    const again = await context.newPage();
    await again.goto(String(delivered!.inboxUrl));
    await expect(proposalCard(again, 'Review open tasks')).toHaveCount(1, { timeout: 20_000 });
    await again.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect(again.getByTestId('webhook-last-delivery')).toContainText(
      '(runs planned while you were away), delivered (HTTP 200), 2 attempts',
    );
    // Nothing more was sent: one notice for the run (two attempts at it) and the test.
    expect(hook.received).toHaveLength(3);
    await context.close();
  } finally {
    await hook.close();
  }
});

test('a browser notification tells of new proposals while every Baton tab is hidden, asked for only from Settings', async ({
  browser,
  relay,
}) => {
  test.setTimeout(90_000);
  const context = await browser.newContext();
  // Counts the app's permission requests, and lets the journey say this page is hidden:
  // headless Chromium keeps every page visible (it has no minimised window or background tab).
  await context.addInitScript(() => {
    const page = window as unknown as { permissionRequests: number; hidden: boolean };
    page.permissionRequests = 0;
    page.hidden = false;
    const request = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...args) => {
      page.permissionRequests += 1;
      return request(...args);
    };
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (page.hidden ? 'hidden' : 'visible'),
    });
  });
  const page = await context.newPage();
  const requests = () =>
    page.evaluate(() => (window as unknown as { permissionRequests: number }).permissionRequests);
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  expect(await requests(), 'no permission asked on load').toBe(0);

  // Ticking the box is what asks; headless Chromium answers a prompt by not granting it.
  const wanted = page.getByRole('checkbox', { name: 'Notify me when proposals wait' });
  await wanted.click();
  await expect.poll(requests).toBe(1);
  await expect(wanted).not.toBeChecked();
  await context.grantPermissions(['notifications'], { origin: relay.url });
  await wanted.check();
  await expect(page.getByRole('region', { name: 'Notify me in this browser' })).toContainText(
    'On. While every Baton tab is in the background',
  );
  // Signed in, ticking also subscribes to the relay's Web Push. Debian's headless Chromium has no
  // push service ("Registration failed - permission denied"): the page says so, in words.
  await expect(page.getByTestId('push-status')).toContainText(
    'With every tab closed this browser cannot be reached (Web Push: Registration failed',
  );

  // The service worker looks at every Baton tab's visibility: told here that they are hidden.
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  await worker.evaluate(() => {
    const sw = self as unknown as ServiceWorkerGlobalScope;
    const matchAll = sw.clients.matchAll.bind(sw.clients);
    sw.clients.matchAll = (async (options?: ClientQueryOptions) =>
      (await matchAll(options)).map((client) => ({
        id: client.id,
        visibilityState: 'hidden',
      }))) as unknown as typeof sw.clients.matchAll;
  });
  await page.evaluate(() => ((window as unknown as { hidden: boolean }).hidden = true));

  await createNearDueMission(page, {
    title: 'Evening review',
    objective: 'Propose one small task',
    dueInMs: 3_000,
    everyMs: hour,
  });
  const shown = () =>
    page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const notices = await registration.getNotifications({ tag: 'baton-proposals' });
      return notices.map((notice) => ({ title: notice.title, body: notice.body }));
    });
  await expect.poll(shown, { timeout: 40_000 }).toEqual([
    {
      title: '1 proposal waits in the Inbox',
      body: 'Open Baton to approve, edit or reject them.',
    },
  ]);
  await context.close();
});
