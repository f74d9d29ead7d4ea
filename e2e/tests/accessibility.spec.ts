/**
 * axe-core on every page (issue 12): Missions, a mission page (and a replay on it), Inbox, Tasks,
 * Notes, Goals, Usage and Settings, at desktop and phone size, with content on them (a mission, a planned run with its
 * proposal waiting, a task, a note, a goal). No serious or critical violation may remain.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { createMission, expect, proposalCard, signIn, test } from '../fixtures.ts';

const sizes = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
];

/** Serious and critical violations on the page as it is, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  // axe looked at the page: rules that passed are the proof that it ran on content.
  expect(results.passes.length).toBeGreaterThan(10);
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes
          .slice(0, 3)
          .map((node) => node.target.join(' '))
          .join(', ')}`,
    );
}

test('no serious or critical axe violation on any page, at desktop and phone size', async ({
  browser,
  relay,
}) => {
  // Twenty-two pages analysed by axe, each a few seconds on a busy machine.
  test.setTimeout(300_000);
  const context = await browser.newContext({ viewport: sizes[0]! });
  const page = await context.newPage();
  await signIn(page, relay);
  const mission = await createMission(page, {
    title: 'Weekly review',
    objective: 'Keep my open tasks in order',
  });
  await mission.getByRole('button', { name: 'Run now' }).click();
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(page, 'Review open tasks')).toBeVisible({ timeout: 20_000 });
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await page.getByLabel('Title').fill('Buy milk');
  await page.getByRole('button', { name: 'Add task' }).click();
  await expect(page.getByTestId('task').filter({ hasText: 'Buy milk' })).toBeVisible();

  const pages: Array<{ name: string; open: () => Promise<void> }> = [
    {
      name: 'Missions',
      open: async () => {
        await page.getByRole('link', { name: 'Missions', exact: true }).click();
        await expect(page.getByTestId('mission')).toHaveCount(1);
      },
    },
    {
      name: 'a mission',
      open: async () => {
        await page.getByRole('link', { name: 'Weekly review' }).first().click();
        await expect(page.getByTestId('iteration')).toHaveCount(1);
      },
    },
    {
      name: 'a replay beside its run',
      open: async () => {
        const run = page.getByTestId('iteration');
        await run.getByText('Replay with…').click();
        await run.getByRole('button', { name: 'Replay (dry run)' }).click();
        await expect(run.getByTestId('replay-result')).toBeVisible({ timeout: 20_000 });
      },
    },
    {
      name: 'Inbox',
      open: async () => {
        await page.getByRole('link', { name: 'Inbox', exact: true }).click();
        await expect(page.getByTestId('proposal')).toHaveCount(1);
      },
    },
    {
      name: 'the Inbox edit form',
      open: async () => {
        await page.getByRole('button', { name: 'Edit', exact: true }).click();
        await expect(page.getByLabel('Due date')).toBeVisible();
      },
    },
    {
      name: 'Tasks',
      open: async () => {
        await page.getByRole('link', { name: 'Tasks', exact: true }).click();
        await expect(page.getByTestId('task')).toHaveCount(1);
      },
    },
    {
      name: 'Notes',
      open: async () => {
        await page.getByRole('link', { name: 'Notes', exact: true }).click();
        await expect(page.getByRole('heading', { name: 'Notes', level: 1 })).toBeVisible();
      },
    },
    {
      name: 'Goals',
      open: async () => {
        await page.getByRole('link', { name: 'Goals', exact: true }).click();
        await expect(page.getByRole('heading', { name: 'Goals', level: 1 })).toBeVisible();
      },
    },
    {
      name: 'Usage',
      open: async () => {
        await page.getByRole('link', { name: 'Usage', exact: true }).click();
        await expect(page.getByTestId('usage-by-mission')).toContainText('Weekly review');
      },
    },
    {
      name: 'Settings',
      open: async () => {
        await page.getByRole('link', { name: 'Settings', exact: true }).click();
        await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
        await expect(page.getByLabel('Webhook address')).toBeVisible();
      },
    },
  ];

  const found: string[] = [];
  for (const size of sizes) {
    await page.setViewportSize(size);
    for (const step of pages) {
      await step.open();
      for (const line of await seriousViolations(page))
        found.push(`${size.name}, ${step.name}: ${line}`);
    }
  }
  expect(found).toEqual([]);
  await context.close();
});
