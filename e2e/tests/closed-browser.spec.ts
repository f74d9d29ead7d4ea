import {
  createNearDueMission,
  expect,
  planningRuns,
  proposalCard,
  relayRowIds,
  signIn,
  test,
} from '../fixtures.ts';
import { createMissionDueSoon } from '../ui-helpers.ts';

const hour = 3_600_000;

test('with every tab closed the relay plans the due slot; reopening shows it waiting', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(90_000);
  // One context is one browser profile: its IndexedDB outlives its pages, but its SharedWorker
  // (and with it the live connection to the relay) ends with the last page.
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();

  // While the tab is open, the relay plans a relay-only mission: that run is not "while you
  // were away", neither now nor after the page is reloaded.
  const digest = await createMissionDueSoon(page, {
    title: 'Relay digest',
    objective: 'Propose one small task',
    dueInMs: 3_000,
    everyMs: hour,
    runOn: 'relay',
  });
  const digestRun = page.getByRole('region', { name: 'Relay digest run' });
  await expect(digestRun.getByTestId('proposal')).toHaveCount(1, { timeout: 30_000 });
  expect(planningRuns(model)).toHaveLength(1);
  await expect(digestRun.getByTestId('planned-by')).toContainText('planned by the relay');
  await expect(digestRun.getByTestId('planned-by')).not.toContainText('while you were away');
  await expect(page.getByTestId('away-notice')).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('region', { name: 'Relay digest run' })).toBeVisible();
  await expect(page.getByTestId('away-notice')).toHaveCount(0);

  const { missionId, iterationId, slotMs } = await createNearDueMission(page, {
    title: 'Morning sweep',
    objective: 'Propose one small task',
    dueInMs: 8_000,
    everyMs: hour,
  });
  await expect.poll(() => relayRowIds(relay, 'missions')).toContain(missionId);
  expect(await relayRowIds(relay, 'missions')).toContain(digest.missionId);
  await page.close();
  expect(Date.now(), 'the tab closed before the slot was due').toBeLessThan(slotMs);

  // The relay sees no capable device and plans the slot itself.
  await expect.poll(() => planningRuns(model).length, { timeout: 30_000 }).toBe(2);
  await expect.poll(() => relayRowIds(relay, 'iterations')).toContain(iterationId);

  const again = await context.newPage();
  await again.goto(`${relay.url}/inbox`);
  const notice = again.getByTestId('away-notice');
  await expect(notice).toContainText('While you were away, the relay planned 1 run');
  await expect(notice).toContainText('Morning sweep');
  await expect(notice).not.toContainText('Relay digest');
  // On the Inbox it does not link to the Inbox; elsewhere it does.
  await expect(notice.getByRole('link', { name: /Inbox/ })).toHaveCount(0);
  const proposal = proposalCard(again, 'Review open tasks');
  await expect(proposal).toHaveCount(2, { timeout: 20_000 });
  await expect(
    again.getByRole('region', { name: 'Morning sweep run' }).getByTestId('planned-by'),
  ).toContainText('planned by the relay while you were away');
  await expect(
    again.getByRole('region', { name: 'Relay digest run' }).getByTestId('planned-by'),
  ).not.toContainText('while you were away');

  // The notice is there on the mission page too, until dismissed.
  await notice.getByRole('link', { name: 'Morning sweep' }).click();
  await expect(again).toHaveURL(new RegExp(`/missions/${encodeURIComponent(missionId)}`));
  const iteration = again.getByTestId('iteration');
  await expect(iteration).toHaveCount(1);
  await expect(iteration).toHaveAttribute('id', iterationId);
  await expect(iteration.getByTestId('planned-by')).toContainText('planned by the relay');
  await expect(notice).toBeVisible();
  await expect(notice.getByRole('link', { name: 'See what waits in the Inbox' })).toBeVisible();
  await notice.getByRole('button', { name: /Dismiss/ }).click();
  await expect(notice).toHaveCount(0);

  // Back online, the device does not plan the slot a second time.
  await again.waitForTimeout(6_000);
  expect(planningRuns(model)).toHaveLength(2);
  await context.close();
});
