import type { ModelScript } from '@baton/relay/testing';
import {
  createMission,
  cutOffWorker,
  debugState,
  expect,
  expectAllSynced,
  expectCaughtUp,
  proposalCard,
  relayChanges,
  relayRows,
  sharedWorkerTargets,
  signIn,
  test,
} from '../fixtures.ts';
import { nameDevice } from '../ui-helpers.ts';

/** A planner that proposes one task with the given title. */
const proposeTask =
  (title: string): ModelScript =>
  (body) => {
    const called = body.messages.flatMap((message) => message.tool_calls ?? []).length;
    if (called === 0) return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
    if (called === 1) return { toolCalls: [{ name: 'create_task', arguments: { title } }] };
    return { content: 'Done.' };
  };

test('two devices: a decision on one reaches the other; conflicting decisions resolve to the first', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(90_000);
  // The phone first, so the only SharedWorker running is the phone's: CDP can cut it off later.
  const phone = await browser.newContext();
  const phonePage = await phone.newPage();
  await signIn(phonePage, relay);
  await nameDevice(phonePage, 'Phone');
  const [phoneWorker, ...others] = await sharedWorkerTargets(browser);
  expect(others).toHaveLength(0);
  await phonePage.getByRole('link', { name: 'Inbox', exact: true }).click();

  const laptop = await browser.newContext();
  const laptopPage = await laptop.newPage();
  await signIn(laptopPage, relay);
  await nameDevice(laptopPage, 'Laptop');
  model.setScript(proposeTask('Water the plants'));
  const mission = await createMission(laptopPage, {
    title: 'House chores',
    objective: 'Keep the house running',
  });
  await mission.getByRole('button', { name: 'Run now' }).click();
  await laptopPage.getByRole('link', { name: 'Inbox', exact: true }).click();

  // The phone's open inbox shows the proposal as it arrives.
  await expect(proposalCard(laptopPage, 'Water the plants')).toBeVisible({ timeout: 20_000 });
  await expect(proposalCard(phonePage, 'Water the plants')).toBeVisible({ timeout: 20_000 });

  // Approve on the laptop: the phone's card turns into a decided entry and the task arrives.
  await proposalCard(laptopPage, 'Water the plants')
    .getByRole('button', { name: 'Approve', exact: true })
    .click();
  await expect(proposalCard(phonePage, 'Water the plants')).toHaveCount(0, { timeout: 20_000 });
  const decidedOnPhone = phonePage.getByTestId('decided');
  await expect(decidedOnPhone).toHaveCount(1);
  const laptopId = String((await debugState(laptopPage))['deviceId']);
  // Named as the person named the laptop; its id is there for a closer look.
  await expect(decidedOnPhone).toContainText('executed — approved by you on Laptop', {
    timeout: 20_000,
  });
  await expect(decidedOnPhone.getByTitle(`device id ${laptopId}`)).toHaveText('you on Laptop');
  await phonePage.getByRole('link', { name: 'Tasks', exact: true }).click();
  const plants = phonePage.getByTestId('task').filter({ hasText: 'Water the plants' });
  await expect(plants).toBeVisible({ timeout: 20_000 });
  await expect(plants.getByTestId('ai-badge')).toContainText('House chores');
  await phonePage.getByRole('link', { name: 'Inbox', exact: true }).click();

  // A second run: both devices see its proposal.
  model.setScript(proposeTask('Call the plumber'));
  await laptopPage.getByRole('link', { name: 'Missions', exact: true }).click();
  await mission.getByRole('button', { name: 'Run now' }).click();
  await laptopPage.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(laptopPage, 'Call the plumber')).toBeVisible({ timeout: 20_000 });
  await expect(proposalCard(phonePage, 'Call the plumber')).toBeVisible({ timeout: 20_000 });

  // The phone loses its network. The laptop approves first; the phone, not knowing, rejects.
  const phoneNetwork = await cutOffWorker(browser, phoneWorker!);
  await proposalCard(laptopPage, 'Call the plumber')
    .getByRole('button', { name: 'Approve', exact: true })
    .click();
  await expectCaughtUp(laptopPage, relay);
  await expect(phonePage.getByTestId('connection')).toHaveAttribute('data-connection', 'offline', {
    timeout: 20_000,
  });
  await expect(proposalCard(phonePage, 'Call the plumber')).toBeVisible();
  await proposalCard(phonePage, 'Call the plumber').getByRole('button', { name: 'Reject' }).click();
  await expect(proposalCard(phonePage, 'Call the plumber')).toHaveCount(0);
  await expect(phonePage.getByTestId('decided').filter({ hasText: 'rejected' })).toHaveCount(1);
  await expect(phonePage.getByTestId('outbox')).toContainText('waiting to sync');

  // Back online: the first decision (the laptop's approval) wins on both devices.
  await phoneNetwork.reconnect();
  await expectAllSynced(phonePage, 40_000);
  await expectCaughtUp(phonePage, relay);
  await expect(phonePage.getByTestId('connection')).toHaveAttribute('data-connection', 'online');
  for (const page of [phonePage, laptopPage]) {
    await expect(page.getByTestId('decided').filter({ hasText: 'rejected' })).toHaveCount(0, {
      timeout: 20_000,
    });
    const approved = page.getByTestId('decided').filter({ hasText: 'approved' });
    await expect(approved).toHaveCount(2);
    // Each device names who decided: the laptop, for both.
    await expect(
      approved.filter({
        hasText: page === phonePage ? 'by you on Laptop' : 'by you on this device',
      }),
    ).toHaveCount(2);
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await expect(page.getByTestId('task').filter({ hasText: 'Call the plumber' })).toHaveCount(1);
    await expect(page.getByTestId('task')).toHaveCount(2);
  }
  // The relay holds both decisions on the plumber proposal; the earlier one (which every replica
  // keeps) is the laptop's approval.
  const plumber = [...(await relayRows(relay, 'proposals')).entries()].find(
    ([, row]) => (row['params'] as { title?: string })?.title === 'Call the plumber',
  )?.[0];
  const decisions = (await relayChanges(relay))
    .filter((change) => change.rowId === plumber && 'decision' in change.fields)
    .sort((a, b) => (a.hlc < b.hlc ? -1 : 1))
    .map(
      (change) =>
        `${(change.fields['decision'] as { verdict: string }).verdict} ${change.deviceId}`,
    );
  const phoneId = String((await debugState(phonePage))['deviceId']);
  expect(decisions).toEqual([`approved ${laptopId}`, `rejected ${phoneId}`]);

  await phone.close();
  await laptop.close();
});
