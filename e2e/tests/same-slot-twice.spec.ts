import type { ModelScript } from '@baton/relay/testing';
import {
  createNearDueMission,
  expect,
  expectAllSynced,
  expectCaughtUp,
  planningRuns,
  proposalCard,
  signIn,
  test,
  useDirectModel,
} from '../fixtures.ts';
import { nameDevice, relayMergedRows } from '../ui-helpers.ts';

/** How long the SharedWorker goes on after its last page closed (engine.worker.ts). */
const workerIdleAfterMs = 3_000;

/** The relay's plan differs from the device's: two steps instead of one. */
const relayScript: ModelScript = (body) => {
  const called = body.messages.flatMap((message) => message.tool_calls ?? []);
  if (called.length === 0) return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
  if (called.length === 1)
    return {
      toolCalls: [
        { name: 'create_task', arguments: { title: 'Relay idea one' } },
        { name: 'create_task', arguments: { title: 'Relay idea two' } },
      ],
    };
  return { content: 'Done.' };
};

test('a device cut off from the relay and the relay both plan one slot: one iteration remains', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(90_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay);
  await nameDevice(page, 'Laptop');
  const deviceId = (await page.getByTestId('device-id').textContent())?.trim() ?? '';
  expect(deviceId).toMatch(/^dev_/);
  // Its own model endpoint lets this device plan while the relay is unreachable.
  await useDirectModel(page, model.url);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  const { missionId, iterationId, slotMs } = await createNearDueMission(page, {
    title: 'Split brain',
    objective: 'Propose one small task',
    dueInMs: 8_000,
  });
  await expect
    .poll(async () => (await relayMergedRows(relay, 'missions')).map((row) => row.id))
    .toContain(missionId);

  // The relay goes away; the device plans the slot without a claim, with its own model.
  await relay.stop();
  expect(Date.now(), 'the relay stopped before the slot was due').toBeLessThan(slotMs);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'offline', {
    timeout: 15_000,
  });
  await expect(proposalCard(page, 'Review open tasks')).toBeVisible({ timeout: 20_000 });
  expect(planningRuns(model)).toHaveLength(1);
  await expect(page.getByTestId('outbox')).toContainText('waiting to sync');

  // The device's tabs close before it could tell anyone: its worker tries once more to sync
  // and stops leading once no page came back for a few seconds (engine.worker.ts,
  // pagesGoneGraceMs). Only then does the relay come back, see no device, and plan the same
  // slot too (differently).
  await page.close();
  await new Promise((resolve) => setTimeout(resolve, workerIdleAfterMs + 2_000));
  model.setScript(relayScript);
  await relay.start();
  await expect.poll(() => planningRuns(model).length, { timeout: 30_000 }).toBe(2);
  await expect
    .poll(async () => (await relayMergedRows(relay, 'iterations')).map((row) => row.runner.kind))
    .toEqual(['relay']);

  // The device returns and syncs both ways.
  const back = await context.newPage();
  await back.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  await expectCaughtUp(back, relay);
  await expectAllSynced(back);
  await expect(back.getByTestId('connection')).toHaveAttribute('data-connection', 'online');
  // One plan per slot on every replica: the earlier plan (the device's) wins.
  const iteration = back.getByTestId('iteration');
  await expect(iteration).toHaveCount(1);
  await expect(iteration).toHaveAttribute('id', iterationId);
  // This device's plan: "this tab" while the browser's shared engine that planned it still runs,
  // "this device" once a new one serves the tab.
  await expect(iteration.getByTestId('planned-by')).toContainText(
    /planned by this (tab|device \(another tab or an earlier session\))/,
  );
  // Its rounds were made without the relay's claim, and the card says so.
  await expect(iteration.getByTestId('usage')).toContainText(
    'made while the relay was out of reach',
  );
  await back.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(back, 'Review open tasks')).toHaveCount(1);
  await expect(back.getByTestId('proposal')).toHaveCount(1);
  await expect(back.getByText('Relay idea')).toHaveCount(0);

  // The relay's side, as a second device that only knows what the relay holds.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, relay);
  await expectCaughtUp(otherPage, relay);
  await otherPage.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  const seen = otherPage.getByTestId('iteration');
  await expect(seen).toHaveCount(1, { timeout: 20_000 });
  await expect(seen).toHaveAttribute('id', iterationId);
  // Named as the person named it, the id kept for a closer look.
  await expect(seen.getByTestId('planned-by')).toContainText('planned by Laptop', {
    timeout: 20_000,
  });
  await expect(seen.getByTestId('planned-by')).toHaveAttribute('title', `device id ${deviceId}`);
  await otherPage.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(otherPage, 'Review open tasks')).toHaveCount(1);
  await expect(otherPage.getByTestId('proposal')).toHaveCount(1);
  await expect(otherPage.getByText('Relay idea')).toHaveCount(0);
  expect(planningRuns(model)).toHaveLength(2);

  // The relay's own merged rows: one iteration, planned by the device, with the device's plan.
  const iterations = await relayMergedRows(relay, 'iterations');
  expect(iterations).toHaveLength(1);
  const [merged] = iterations;
  expect(merged?.id).toBe(iterationId);
  expect(merged?.runner).toEqual({ kind: 'device', deviceId });
  // Every round the device made is recorded as made without a claim, so the relay's budget
  // does not take them for the rounds it granted its own attempt.
  expect(merged?.usage?.rounds).toBeGreaterThan(0);
  expect(merged?.usage?.unclaimedRounds).toBe(merged?.usage?.rounds);
  expect(merged?.plan?.steps.map((step) => [step.tool, step.params['title']])).toEqual([
    ['create_task', 'Review open tasks'],
  ]);
  // The relay's steps lost: its step 0 shares an id with the device's and now shows the
  // device's step; its extra step 1 is superseded, never offered to the person.
  const proposals = (await relayMergedRows(relay, 'proposals')).sort(
    (a, b) => a.stepIndex - b.stepIndex,
  );
  expect(proposals.map((row) => [row.stepIndex, row.status, row.params['title']])).toEqual([
    [0, 'pending', 'Review open tasks'],
    [1, 'superseded', 'Relay idea two'],
  ]);

  await other.close();
  await context.close();
});
