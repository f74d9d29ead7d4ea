import type { BrowserContext, Page } from '@playwright/test';
import { freezeTab } from '../browser-control.ts';
import {
  createNearDueMission,
  debugState,
  expect,
  planningRuns,
  proposalCard,
  signIn,
  test,
} from '../fixtures.ts';

async function leaders(tabs: Page[]): Promise<Page[]> {
  const states = await Promise.all(tabs.map((tab) => debugState(tab)));
  return tabs.filter((_, index) => states[index]!['leader'] === true);
}

test('without SharedWorker, a frozen leader tab is taken over and a new slot is still planned once', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(150_000);
  const context: BrowserContext = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
  });
  const first = await context.newPage();
  await signIn(first, relay);
  const tabs = [first, await context.newPage(), await context.newPage()];
  for (const tab of tabs.slice(1)) await tab.goto(`${relay.url}/inbox`);
  await expect.poll(async () => (await leaders(tabs)).length, { timeout: 20_000 }).toBe(1);
  const [frozenLeader] = await leaders(tabs);
  const others = tabs.filter((tab) => tab !== frozenLeader);

  // The browser freezes the leading tab (page and worker): its heartbeat stops, its lock stays.
  const frozen = await freezeTab(frozenLeader!);
  await expect
    .poll(async () => (await leaders(others)).length, {
      timeout: 40_000,
      message: 'another tab took over from the frozen leader',
    })
    .toBe(1);

  // A slot due now is planned once, by the new leader, with a model slow enough that a second
  // planner would overlap.
  model.setDelay(3_000);
  const [newLeader] = await leaders(others);
  await createNearDueMission(newLeader!, {
    title: 'After the freeze',
    objective: 'Propose one small task',
    dueInMs: 3_000,
  });
  for (const tab of others) {
    await tab.getByRole('link', { name: 'Inbox', exact: true }).click();
    await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({ timeout: 40_000 });
  }

  // The frozen tab wakes up: it finds its lead gone and stays a follower; still one plan.
  await frozen.thaw();
  await expect.poll(async () => (await leaders(tabs)).length, { timeout: 20_000 }).toBe(1);
  expect(await leaders(tabs)).toEqual([newLeader]);
  await frozenLeader!.waitForTimeout(8_000);
  expect(await leaders(tabs)).toEqual([newLeader]);
  expect(planningRuns(model)).toHaveLength(1);
  await frozenLeader!.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(frozenLeader!, 'Review open tasks')).toHaveCount(1);
  await context.close();
});
