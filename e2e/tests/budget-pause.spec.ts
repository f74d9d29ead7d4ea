/**
 * Pausing (issue 12): a mission whose runs per day are used up pauses at its next slot with the
 * reason on its page, and plans again once the person raised the budget and resumed it; a
 * mission the person paused makes no model call at its slot (counted at the model server) and
 * plans its next slot after Resume.
 */
import type { Page } from '@playwright/test';
import {
  createMission,
  createNearDueMission,
  debugState,
  expect,
  planningRuns,
  signIn,
  test,
  type NearDueMission,
} from '../fixtures.ts';

const minute = 60_000;

/** Opens the mission's own page from the Missions list. */
async function openMission(page: Page, title: string): Promise<void> {
  await page.getByRole('link', { name: 'Missions', exact: true }).click();
  await page.getByRole('link', { name: title }).first().click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
}

/** Sets one of the mission's budget fields on its own page. */
async function setBudget(
  page: Page,
  field: 'Max runs per day' | 'Max tokens per day',
  value: number,
): Promise<void> {
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await page.getByLabel(field).fill(String(value));
  await page.getByRole('button', { name: 'Save mission' }).click();
}

/** Presses "Run now" and waits until the timeline holds `runs` runs and it can be pressed again. */
async function runNow(page: Page, runs: number): Promise<void> {
  const actions = page.getByTestId('mission-actions');
  await actions.getByRole('button', { name: 'Run now' }).click();
  await expect(page.getByTestId('iteration')).toHaveCount(runs, { timeout: 20_000 });
  await expect(actions.getByRole('button', { name: 'Run now' })).toBeEnabled();
}

/** Waits until the device's planner has ticked after the slot: it looked at it and passed. */
async function tickedAfter(page: Page, slotMs: number): Promise<void> {
  await expect
    .poll(async () => Number((await debugState(page))['lastTickAt'] ?? 0), { timeout: 40_000 })
    .toBeGreaterThan(slotMs + 1_000);
}

test('the budget pauses a mission at its slot, with the reason, until the person resumes it', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(180_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  const created: NearDueMission = await createNearDueMission(page, {
    title: 'Tight budget',
    objective: 'Keep my open tasks in order',
    dueInMs: 30_000,
    everyMs: minute,
  });
  await openMission(page, 'Tight budget');
  await setBudget(page, 'Max runs per day', 2);

  // Two runs by hand use the day's budget.
  const runs = page.getByTestId('iteration');
  const actions = page.getByTestId('mission-actions');
  await runNow(page, 1);
  await runNow(page, 2);
  expect(planningRuns(model)).toHaveLength(2);

  // At its slot the mission pauses instead of planning, and says why.
  await expect(
    page.getByText('Paused: 2 runs in the last 24 hours reached the budget of 2 runs per day.'),
  ).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('.badge.paused')).toHaveText('paused');
  await tickedAfter(page, created.slotMs);
  expect(planningRuns(model)).toHaveLength(2);
  await expect(runs).toHaveCount(2);

  // The person raises the budget and resumes: the reason goes, the next slot is planned.
  await setBudget(page, 'Max runs per day', 5);
  await actions.getByRole('button', { name: 'Resume' }).click();
  await expect(page.locator('.badge.active')).toHaveText('active');
  await expect(page.getByText(/^Paused:/)).toHaveCount(0);
  await expect(runs).toHaveCount(3, { timeout: 90_000 });
  expect(planningRuns(model)).toHaveLength(3);
  // The slot after Resume, not a manual one.
  expect(JSON.stringify(planningRuns(model)[2]!.messages)).toContain(
    `This run is for the slot ${new Date(created.slotMs + minute).toISOString()}`,
  );
  await context.close();
});

test('a paused mission makes no model call at its slot, and plans the next one after Resume', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(180_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  const created = await createNearDueMission(page, {
    title: 'On hold',
    objective: 'Keep my open tasks in order',
    dueInMs: 15_000,
    everyMs: minute,
  });
  await openMission(page, 'On hold');
  const actions = page.getByTestId('mission-actions');
  await actions.getByRole('button', { name: 'Pause' }).click();
  await expect(page.locator('.badge.paused')).toHaveText('paused');

  // Its slot passes, the device ticks past it (and the relay every second): no call at all.
  await tickedAfter(page, created.slotMs);
  expect(model.callCount()).toBe(0);
  await expect(page.getByText('No runs yet.')).toBeVisible();

  await actions.getByRole('button', { name: 'Resume' }).click();
  await expect(page.locator('.badge.active')).toHaveText('active');
  const runs = page.getByTestId('iteration');
  await expect(runs).toHaveCount(1, { timeout: 90_000 });
  expect(planningRuns(model)).toHaveLength(1);
  // The slot it plans is the one after Resume, not the one it missed while paused.
  expect(JSON.stringify(planningRuns(model)[0]!.messages)).toContain(
    `This run is for the slot ${new Date(created.slotMs + minute).toISOString()}`,
  );
  await context.close();
});

test('a run the budget cannot finish stops before its next model call, says why, and pauses the mission', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  // Each call costs 120 tokens. The first run answers at once (one call); the second asks for
  // the open tasks first, so it needs a second call, which 300 tokens a day have no room for.
  const usage = { prompt_tokens: 100, completion_tokens: 20 };
  model.setScript((_body, callIndex) =>
    callIndex === 1
      ? { toolCalls: [{ name: 'list_tasks', arguments: {} }], usage }
      : { content: 'Nothing to change today.', usage },
  );
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  await createMission(page, { title: 'Small budget', objective: 'Keep my open tasks in order' });
  await openMission(page, 'Small budget');
  await setBudget(page, 'Max tokens per day', 300);

  await runNow(page, 1);
  // 120 used and a run takes about 120: the second run is let in, and its first call made.
  await page.getByTestId('mission-actions').getByRole('button', { name: 'Run now' }).click();
  const stopped = page
    .getByTestId('iteration')
    .filter({ has: page.getByTestId('iteration-error') });
  await expect(stopped).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  const error = stopped.getByTestId('iteration-error');
  await expect(error).toContainText('had no room for another model round');
  await error.getByText('Why it stopped').click();
  await expect(error).toContainText(
    "240 tokens used in the last 24 hours, this run's rounds so far included, and another round takes about 120",
  );
  await expect(error).toContainText('(budget)');
  await expect(page.getByText(/^Paused: 240 tokens used/)).toBeVisible();
  await expect(page.locator('.badge.paused')).toHaveText('paused');
  await page.screenshot({ path: test.info().outputPath('budget-stop.png'), fullPage: true });
  // One call per run: the second run's next call, which the budget refused, was never made.
  expect(model.callCount()).toBe(2);
  await context.close();
});
