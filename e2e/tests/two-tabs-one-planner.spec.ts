import {
  debugState,
  expect,
  planningRuns,
  planSlowSlotSeenIn,
  proposalCard,
  sharedWorkerTargets,
  signIn,
  test,
} from '../fixtures.ts';

test('two tabs share one planner: a due slot costs one model run and both tabs see it live', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  const first = await context.newPage();
  await signIn(first, relay);
  const second = await context.newPage();
  await second.goto(`${relay.url}/inbox`);
  await first.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(first, 'Review open tasks')).toHaveCount(0);

  // One SharedWorker for the browser, and both tabs talk to it.
  expect(await sharedWorkerTargets(browser)).toHaveLength(1);
  const [firstState, secondState] = await Promise.all([debugState(first), debugState(second)]);
  expect(firstState['host']).toBe('shared');
  expect(secondState['hostId']).toBe(firstState['hostId']);
  expect(firstState['leader']).toBe(true);

  // Neither tab reloads: the proposal appears in both while they are open, planned once.
  const { missionId, iterationId } = await planSlowSlotSeenIn([first, second], model, {
    title: 'Tidy my tasks',
    objective: 'Propose one small task',
  });
  expect(planningRuns(model)).toHaveLength(1);
  // The default script plans in three calls: list_tasks, create_task, then the final answer.
  const callsForMission = model.calls.filter((call) =>
    JSON.stringify(call.messages).includes('Propose one small task'),
  );
  expect(callsForMission).toHaveLength(3);
  expect(await sharedWorkerTargets(browser)).toHaveLength(1);
  for (const tab of [first, second]) {
    await expect(proposalCard(tab, 'Review open tasks')).toHaveCount(1);
  }

  await second.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  const iteration = second.getByTestId('iteration');
  await expect(iteration).toHaveCount(1);
  await expect(iteration).toHaveAttribute('id', iterationId);
  // Both tabs share the engine that planned it, so this tab says it planned it too.
  await expect(iteration.getByTestId('planned-by')).toContainText('planned by this tab');
  await expect(iteration.getByTestId('planned-by')).toHaveAttribute(
    'title',
    /this browser's shared engine/,
  );
  await context.close();
});
