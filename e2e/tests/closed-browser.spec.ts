import {
  createNearDueMission,
  expect,
  planningRuns,
  proposalCard,
  relayRowIds,
  signIn,
  test,
} from '../fixtures.ts';

test('with every tab closed the relay plans the due slot; reopening shows it waiting', async ({
  browser,
  relay,
  model,
}) => {
  // One context is one browser profile: its IndexedDB outlives its pages, but its SharedWorker
  // (and with it the live connection to the relay) ends with the last page.
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  const { missionId, iterationId, slotMs } = await createNearDueMission(page, {
    title: 'Morning sweep',
    objective: 'Propose one small task',
    dueInMs: 8_000,
  });
  await expect.poll(() => relayRowIds(relay, 'missions')).toContain(missionId);
  await page.close();
  expect(Date.now(), 'the tab closed before the slot was due').toBeLessThan(slotMs);

  // The relay sees no capable device and plans the slot itself.
  await expect.poll(() => planningRuns(model).length, { timeout: 30_000 }).toBe(1);
  await expect.poll(() => relayRowIds(relay, 'iterations')).toContain(iterationId);

  const again = await context.newPage();
  await again.goto(`${relay.url}/inbox`);
  await expect(again.getByTestId('away-notice')).toContainText(
    'While you were away, the relay planned 1 run',
  );
  await expect(again.getByTestId('away-notice')).toContainText('Morning sweep');
  const proposal = proposalCard(again, 'Review open tasks');
  await expect(proposal).toHaveCount(1, { timeout: 20_000 });
  await expect(
    again.getByRole('region', { name: 'Morning sweep run' }).getByTestId('planned-by'),
  ).toContainText('planned by the relay while you were away');

  await again.getByRole('link', { name: 'Morning sweep' }).first().click();
  await expect(again).toHaveURL(new RegExp(`/missions/${encodeURIComponent(missionId)}`));
  const iteration = again.getByTestId('iteration');
  await expect(iteration).toHaveCount(1);
  await expect(iteration).toHaveAttribute('id', iterationId);
  await expect(iteration.getByTestId('planned-by')).toContainText('planned by the relay');

  // Back online, the device does not plan the slot a second time.
  await again.waitForTimeout(6_000);
  expect(planningRuns(model)).toHaveLength(1);
  await context.close();
});
