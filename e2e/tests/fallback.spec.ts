import {
  createNearDueMission,
  debugState,
  expect,
  planningRuns,
  proposalCard,
  signIn,
  test,
} from '../fixtures.ts';

test('without SharedWorker, three tabs still plan a due slot once', async ({
  browser,
  relay,
  model,
}) => {
  const context = await browser.newContext();
  // A browser without SharedWorker: every tab runs its own worker and one leads.
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
  });
  const first = await context.newPage();
  await signIn(first, relay);
  const tabs = [first, await context.newPage(), await context.newPage()];
  for (const tab of tabs.slice(1)) await tab.goto(`${relay.url}/inbox`);
  await first.getByRole('link', { name: 'Inbox', exact: true }).click();

  const states = await Promise.all(tabs.map((tab) => debugState(tab)));
  expect(states.map((state) => state['host'])).toEqual(['dedicated', 'dedicated', 'dedicated']);
  await expect
    .poll(
      async () =>
        (await Promise.all(tabs.map((tab) => debugState(tab)))).filter((s) => s['leader']).length,
    )
    .toBe(1);

  await createNearDueMission(first, {
    title: 'No shared worker',
    objective: 'Propose one small task',
    dueInMs: 4_000,
  });
  for (const tab of tabs) {
    await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({ timeout: 20_000 });
  }
  // Followers tick too (every 5 s) but must not plan; the relay must not either.
  await first.waitForTimeout(6_000);
  expect(planningRuns(model)).toHaveLength(1);
  for (const tab of tabs) await expect(proposalCard(tab, 'Review open tasks')).toHaveCount(1);
  await context.close();
});
