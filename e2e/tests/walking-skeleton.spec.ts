import { createMission, expect, planningRuns, proposalCard, signIn, test } from '../fixtures.ts';

test.describe('walking skeleton', () => {
  // The relay as on a person's first `npm start`: it creates its database in an empty folder.
  test.use({ freshDatabase: true });

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

  test('the mission page shows planning live, says when a dry run proposes nothing, and takes feedback', async ({
    browser,
    relay,
    model,
  }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, relay);
    await createMission(page, { title: 'Slow thinker', objective: 'Keep my open tasks in order' });
    await page.getByRole('link', { name: 'Slow thinker' }).first().click();
    await expect(page.getByRole('heading', { name: 'Slow thinker' })).toBeVisible();

    // While this browser's engine waits for the model, the timeline says so.
    model.setDelay(3_000);
    await page.getByRole('button', { name: 'Run now' }).click();
    const planning = page.getByTestId('iteration-planning');
    await expect(planning).toContainText('planning…');
    await expect(page.getByTestId('iteration')).toHaveCount(1, { timeout: 30_000 });
    await expect(planning).toHaveCount(0);
    const iteration = page.getByTestId('iteration');
    await expect(iteration).toHaveAttribute('data-status', 'planned');
    await expect(iteration.getByTestId('step-count')).toHaveText('1 step');
    model.setDelay(0);

    // A dry run whose model proposes nothing says so, and stages nothing.
    model.setScript(() => ({ content: 'Nothing needs doing today.' }));
    await page.getByRole('button', { name: 'Dry run' }).click();
    const dryRun = page.getByTestId('dry-run');
    await expect(dryRun).toContainText('Nothing needs doing today.', { timeout: 30_000 });
    await expect(dryRun.getByTestId('dry-run-steps')).toContainText(
      'The planner proposed no steps.',
    );
    await expect(page.getByTestId('iteration')).toHaveCount(1);

    // Feedback on the run: too long is refused next to the box; a short one is kept.
    await iteration.locator('summary', { hasText: 'Feedback on this run' }).click();
    const box = iteration.getByLabel('Feedback on this run');
    await box.fill('x'.repeat(4_001));
    await iteration.getByRole('button', { name: 'Save feedback' }).click();
    await expect(box).toHaveAttribute('aria-invalid', 'true');
    await expect(box).toHaveAccessibleDescription(/at most 4,000 characters/);
    await expect(box).toBeFocused();
    await box.fill('Fewer tasks, please.');
    await iteration.getByRole('button', { name: 'Save feedback' }).click();
    await expect(iteration.getByText('Feedback: “Fewer tasks, please.”')).toBeVisible();
    await context.close();
  });
});
