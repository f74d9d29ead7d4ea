import { createMission, expect, planningRuns, proposalCard, signIn, test } from '../fixtures.ts';

test.describe('walking skeleton', () => {
  test('a planned step approved on one device becomes an AI task on another', async ({
    browser,
    relay,
    model,
  }) => {
    const laptop = await browser.newContext();
    const page = await laptop.newPage();
    await signIn(page, relay);
    const mission = await createMission(page, {
      title: 'Weekly review',
      objective: 'Keep my open tasks in order',
    });

    await mission.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    const proposal = proposalCard(page, 'Review open tasks');
    await expect(proposal).toBeVisible({ timeout: 20_000 });
    expect(planningRuns(model)).toHaveLength(1);

    await proposal.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    const task = page.getByTestId('task').filter({ hasText: 'Review open tasks' });
    await expect(task).toBeVisible();
    await expect(task.getByTestId('ai-badge')).toContainText('Weekly review');

    // A second device (its own browser context, so its own IndexedDB and worker) signs in
    // as the same person and pulls the task through the relay.
    const phone = await browser.newContext();
    const phonePage = await phone.newPage();
    await signIn(phonePage, relay);
    await phonePage.getByRole('link', { name: 'Tasks', exact: true }).click();
    const synced = phonePage.getByTestId('task').filter({ hasText: 'Review open tasks' });
    await expect(synced).toBeVisible({ timeout: 20_000 });
    await expect(synced.getByTestId('ai-badge')).toContainText('Weekly review');

    await phone.close();
    await laptop.close();
  });
});
