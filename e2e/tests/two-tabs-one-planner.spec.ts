import {
  createNearDueMission,
  expect,
  planningRuns,
  proposalCard,
  signIn,
  test,
} from '../fixtures.ts';

test('two tabs share one planner: a due slot costs one model run and both tabs see it live', async ({
  browser,
  relay,
  model,
}) => {
  const context = await browser.newContext();
  const first = await context.newPage();
  await signIn(first, relay);
  const second = await context.newPage();
  await second.goto(`${relay.url}/inbox`);
  await first.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(first, 'Review open tasks')).toHaveCount(0);

  const { missionId, iterationId } = await createNearDueMission(first, {
    title: 'Tidy my tasks',
    objective: 'Propose one small task',
    dueInMs: 4_000,
  });

  // Neither tab reloads: the proposal appears in both while they are open.
  for (const tab of [first, second]) {
    await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({ timeout: 20_000 });
  }
  // A second planner (the other tab, or the relay) would have planned by now: ticks run every
  // 5 s in the worker and every second at the relay.
  await first.waitForTimeout(6_000);
  expect(planningRuns(model)).toHaveLength(1);
  for (const tab of [first, second]) {
    await expect(proposalCard(tab, 'Review open tasks')).toHaveCount(1);
  }

  await second.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  const iteration = second.getByTestId('iteration');
  await expect(iteration).toHaveCount(1);
  await expect(iteration).toHaveAttribute('id', iterationId);
  await expect(iteration.getByTestId('planned-by')).toContainText('planned by this device');
  await context.close();
});
