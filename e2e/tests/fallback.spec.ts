import { createModelServer } from '@baton/relay/testing';
import type { BrowserContext, Page } from '@playwright/test';
import {
  createNearDueMission,
  debugState,
  engineStart,
  expect,
  planningRuns,
  proposalCard,
  signIn,
  test,
  useDirectModel,
} from '../fixtures.ts';

/** A browser without SharedWorker: every tab runs its own worker and one of them leads. */
async function contextWithoutSharedWorker(
  browser: import('@playwright/test').Browser,
): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
  });
  return context;
}

/** Waits until exactly one tab's worker leads, and tells it from the others. */
async function leaderFirst(tabs: Page[]): Promise<{ leader: Page; followers: Page[] }> {
  let states: Array<Record<string, unknown>> = [];
  await expect
    .poll(
      async () => {
        states = await Promise.all(tabs.map((tab) => debugState(tab)));
        return states.filter((state) => state['leader']).length;
      },
      { timeout: 20_000, message: 'exactly one tab leads' },
    )
    .toBe(1);
  const leader = tabs[states.findIndex((state) => state['leader'])]!;
  return { leader, followers: tabs.filter((tab) => tab !== leader) };
}

test('without SharedWorker, three tabs still plan a due slot once, and only the leader syncs', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await contextWithoutSharedWorker(browser);
  const first = await context.newPage();
  await signIn(first, relay);
  const tabs = [first, await context.newPage(), await context.newPage()];
  for (const tab of tabs.slice(1)) await tab.goto(`${relay.url}/inbox`);
  await first.getByRole('link', { name: 'Inbox', exact: true }).click();

  const states = await Promise.all(tabs.map((tab) => debugState(tab)));
  for (const tab of tabs) expect(await engineStart(tab)).toMatchObject({ host: 'dedicated' });
  expect(new Set(states.map((state) => state['hostId'])).size).toBe(3);
  const { leader, followers } = await leaderFirst(tabs);

  // A slow model, so a second planner would start its own run while the first is still busy.
  model.setDelay(3_000);
  await createNearDueMission(followers[0]!, {
    title: 'No shared worker',
    objective: 'Propose one small task',
    dueInMs: 4_000,
  });
  for (const tab of tabs) {
    await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({ timeout: 40_000 });
  }
  // Followers have timers too, but must neither plan nor sync; the relay must not plan either.
  await first.waitForTimeout(8_000);
  expect(planningRuns(model)).toHaveLength(1);
  for (const tab of tabs) await expect(proposalCard(tab, 'Review open tasks')).toHaveCount(1);
  for (const follower of followers) {
    expect(await debugState(follower)).toMatchObject({ leader: false, pushes: 0, pulls: 0 });
    // A follower's status bar speaks with the leader's voice: online, nothing waiting.
    await expect(follower.getByTestId('connection')).toHaveAttribute('data-connection', 'online');
    await expect(follower.getByTestId('outbox')).toHaveText('All changes synced');
  }
  const leaderState = await debugState(leader);
  // The mission was written by a follower: the leader pushed it.
  expect(leaderState['pushes']).toBeGreaterThan(0);
  await context.close();
});

test('without SharedWorker, settings saved in a follower tab reach the leader', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const ownModel = await createModelServer();
  try {
    const context = await contextWithoutSharedWorker(browser);
    const tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) await tab.goto(`${relay.url}/inbox`);
    const { leader, followers } = await leaderFirst(tabs);
    const follower = followers[0]!;
    expect(await debugState(leader)).toMatchObject({ connection: 'signed_out' });

    // Signing in happens in the follower; the leader starts syncing with the new token.
    await signIn(follower, relay);
    await expect
      .poll(async () => (await debugState(leader))['connection'], { timeout: 15_000 })
      .toBe('online');
    expect(await debugState(leader)).toMatchObject({ leader: true, liveConnected: true });

    // A model endpoint set in the follower is the one the leader plans with.
    await useDirectModel(follower, ownModel.url);
    await createNearDueMission(follower, {
      title: 'Own model',
      objective: 'Propose one small task',
      dueInMs: 3_000,
    });
    await follower.getByRole('link', { name: 'Inbox', exact: true }).click();
    await expect(proposalCard(follower, 'Review open tasks')).toBeVisible({ timeout: 30_000 });
    expect(planningRuns(ownModel)).toHaveLength(1);
    expect(model.callCount()).toBe(0);
    await context.close();
  } finally {
    await ownModel.close();
  }
});
