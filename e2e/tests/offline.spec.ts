import type { ModelScript } from '@baton/relay/testing';
import { launchDeviceBrowser } from '../browser-control.ts';
import {
  createMission,
  expect,
  expectAllSynced,
  expectCaughtUp,
  proposalCard,
  relayRows,
  signIn,
  test,
} from '../fixtures.ts';
import type { Page } from '@playwright/test';

/** A planner that proposes two tasks. */
const twoTasks: ModelScript = (body) => {
  const called = body.messages.flatMap((message) => message.tool_calls ?? []).length;
  if (called === 0) return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
  if (called === 1)
    return {
      toolCalls: [
        { name: 'create_task', arguments: { title: 'Buy stamps' } },
        { name: 'create_task', arguments: { title: 'Renew passport' } },
      ],
    };
  return { content: 'Done.' };
};

async function addTask(page: Page, title: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Title' }).first().fill(title);
  await page.getByRole('button', { name: 'Add task' }).click();
  await expect(page.getByTestId('task').filter({ hasText: title })).toBeVisible();
}

test('offline: edits and decisions made on a device without network survive a reload and reach the relay and a second device', async ({
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  // This journey's own browser: it takes the whole device offline, SharedWorker and service
  // worker included (context.setOffline alone does not reach them).
  const device = await launchDeviceBrowser();
  try {
    const context = await device.browser.newContext();
    const page = await context.newPage();
    await signIn(page, relay);
    // The offline app shell: the service worker controls the page before the network goes.
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), {
        timeout: 15_000,
      })
      .toBe(true);

    model.setScript(twoTasks);
    const mission = await createMission(page, { title: 'Errands', objective: 'Plan my errands' });
    await mission.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await expect(proposalCard(page, 'Buy stamps')).toBeVisible({ timeout: 20_000 });
    await expect(proposalCard(page, 'Renew passport')).toBeVisible();
    await expectCaughtUp(page, relay);

    // The device loses its network; the relay keeps running. The bar says so at once.
    await device.setOffline(context, true);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'offline', {
      timeout: 5_000,
    });
    await expect(page.getByTestId('baton')).toContainText('this browser');

    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await addTask(page, 'Buy milk');
    await addTask(page, 'Call mom');
    await page.getByRole('checkbox', { name: 'Done: Call mom' }).check();
    await page.getByRole('button', { name: 'Edit Buy milk' }).click();
    const editForm = page.locator('form.edit-form');
    await editForm.getByLabel('Title').fill('Buy oat milk');
    await editForm.getByLabel('Priority').selectOption('high');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByTestId('task').filter({ hasText: 'Buy oat milk' })).toContainText(
      'high',
    );

    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await proposalCard(page, 'Buy stamps')
      .getByRole('button', { name: 'Approve', exact: true })
      .click();
    await proposalCard(page, 'Renew passport').getByRole('button', { name: 'Reject' }).click();
    await expect(page.getByTestId('proposal')).toHaveCount(0);
    await expect(page.getByTestId('outbox')).toHaveText(/\d+ changes? waiting to sync/);

    // Reload while offline: the shell comes from the service worker, the data from IndexedDB,
    // and the outbox still holds the changes (nothing reached the relay meanwhile).
    const relayTasksBefore = await relayRows(relay, 'tasks');
    await page.reload();
    await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'offline', {
      timeout: 15_000,
    });
    await expect(page.getByTestId('decided').filter({ hasText: 'approved' })).toHaveCount(1);
    await expect(page.getByTestId('decided').filter({ hasText: 'rejected' })).toHaveCount(1);
    await expect(page.getByTestId('proposal')).toHaveCount(0);
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    for (const title of ['Buy oat milk', 'Call mom', 'Buy stamps']) {
      await expect(page.getByTestId('task').filter({ hasText: title })).toBeVisible();
    }
    await expect(page.getByRole('checkbox', { name: 'Done: Call mom' })).toBeChecked();
    await expect(page.getByTestId('task').filter({ hasText: 'Renew passport' })).toHaveCount(0);
    await expect(page.getByTestId('outbox')).toHaveText(/\d+ changes? waiting to sync/);
    expect(await relayRows(relay, 'tasks')).toEqual(relayTasksBefore);

    // The network is back: everything reaches the relay without anyone pressing a button.
    await device.setOffline(context, false);
    await expectAllSynced(page, 30_000);
    await expectCaughtUp(page, relay);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'online');
    const tasks = [...(await relayRows(relay, 'tasks')).values()];
    expect(tasks.map((task) => `${task['title']}${task['done'] ? ' (done)' : ''}`).sort()).toEqual([
      'Buy oat milk',
      'Buy stamps',
      'Call mom (done)',
    ]);

    // A second device sees the same.
    const phone = await device.browser.newContext();
    const phonePage = await phone.newPage();
    await signIn(phonePage, relay);
    await phonePage.getByRole('link', { name: 'Tasks', exact: true }).click();
    await expect(phonePage.getByTestId('task')).toHaveCount(3, { timeout: 20_000 });
    await expect(phonePage.getByTestId('task').filter({ hasText: 'Buy oat milk' })).toContainText(
      'high',
    );
    await expect(phonePage.getByRole('checkbox', { name: 'Done: Call mom' })).toBeChecked();
    await expect(
      phonePage.getByTestId('task').filter({ hasText: 'Buy stamps' }).getByTestId('ai-badge'),
    ).toContainText('Errands');
    await phonePage.getByRole('link', { name: 'Inbox', exact: true }).click();
    await expect(phonePage.getByTestId('proposal')).toHaveCount(0);
    await expect(phonePage.getByTestId('decided').filter({ hasText: 'approved' })).toHaveCount(1);
    await expect(phonePage.getByTestId('decided').filter({ hasText: 'rejected' })).toHaveCount(1);
  } finally {
    await device.close();
  }
});
