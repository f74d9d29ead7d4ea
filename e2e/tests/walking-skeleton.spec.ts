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

  test('two tabs share one planner: a due slot costs one planning run', async ({
    browser,
    relay,
    model,
  }) => {
    test.setTimeout(150_000);
    const context = await browser.newContext();
    const first = await context.newPage();
    await signIn(first, relay);
    await createMission(first, {
      title: 'Every minute',
      objective: 'Propose one small task',
      cron: '* * * * *',
    });
    const second = await context.newPage();
    await second.goto(`${relay.url}/inbox`);
    await first.getByRole('link', { name: 'Inbox', exact: true }).click();

    // The next minute boundary is the slot; both tabs see its proposal appear live.
    for (const tab of [first, second]) {
      await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({
        timeout: 90_000,
      });
    }
    // Give a second planner (if there were one) time to plan the same slot too.
    await first.waitForTimeout(3_000);
    expect(planningRuns(model)).toHaveLength(1);
    await expect(proposalCard(second, 'Review open tasks')).toHaveCount(1);
    await context.close();
  });
});
