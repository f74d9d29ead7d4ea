/**
 * The Inbox's edit form (issue 12): a step's parameters as fields built from its tool's schema,
 * errors beside the fields that clear once the field is valid, the JSON editor as an advanced
 * fallback, and the Inbox driven from the keyboard alone.
 */
import type { ModelScript } from '@baton/relay/testing';
import type { Page } from '@playwright/test';
import { createMission, expect, planningRuns, proposalCard, signIn, test } from '../fixtures.ts';

/** Lists the tasks, then proposes `tasks` in one answer, then says it is done. */
function proposing(tasks: Array<Record<string, unknown>>): ModelScript {
  return (body) => {
    const called = new Set(
      body.messages
        .flatMap((message) => message.tool_calls ?? [])
        .map((call) => call.function.name),
    );
    if (!called.has('list_tasks')) return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
    if (!called.has('create_task'))
      return { toolCalls: tasks.map((task) => ({ name: 'create_task', arguments: task })) };
    return { content: 'Three errands for the week.' };
  };
}

/** A proposal's card by its id: its text changes while its form is open. */
async function cardOf(page: Page, text: string) {
  const id = await proposalCard(page, text).getAttribute('data-proposal-id');
  return page.locator(`[data-proposal-id="${id}"]`);
}

async function planThreeErrands(page: Page, model: Parameters<typeof planningRuns>[0]) {
  model.setScript(
    proposing([
      { title: 'Buy milk', notes: 'Two litres', due: '2030-12-01', priority: 'normal' },
      { title: 'Call the plumber', priority: 'low' },
      { title: 'Water the plants' },
    ]),
  );
  const mission = await createMission(page, {
    title: 'Errands',
    objective: 'Keep my errands in order',
  });
  await mission.getByRole('button', { name: 'Run now' }).click();
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(page.getByTestId('proposal')).toHaveCount(3, { timeout: 20_000 });
  expect(planningRuns(model)).toHaveLength(1);
}

test('edit then approve: a form from the tool schema, errors beside fields, JSON as the fallback', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  await planThreeErrands(page, model);

  // Edit opens a form: a text field, a date, a select of the schema's enum values.
  const milk = await cardOf(page, 'Buy milk');
  await milk.getByRole('button', { name: 'Edit', exact: true }).click();
  const title = milk.getByLabel('Title');
  await expect(title).toHaveValue('Buy milk');
  await expect(milk.getByLabel('Due date')).toHaveAttribute('type', 'date');
  await expect(milk.getByLabel('Due date')).toHaveValue('2030-12-01');
  const priority = milk.getByLabel('Priority');
  await expect(priority.locator('option')).toHaveText(['low', 'normal', 'high']);
  await expect(priority).toHaveValue('normal');

  // An empty title is refused beside the field, and the error clears once the field is valid.
  await title.fill('');
  await milk.getByRole('button', { name: 'Approve with edits' }).click();
  await expect(title).toHaveAttribute('aria-invalid', 'true');
  await expect(title).toBeFocused();
  await expect(milk.getByText('Title is required')).toBeVisible();
  await title.fill('Buy oat milk');
  await expect(milk.getByText('Title is required')).toHaveCount(0);
  await expect(title).not.toHaveAttribute('aria-invalid', 'true');

  // Clear the due date (nullable: "no due date") and raise the priority, then approve.
  await milk.getByLabel('Due date').fill('');
  await priority.selectOption('high');
  await milk.getByRole('button', { name: 'Approve with edits' }).click();
  await expect(milk).toHaveCount(0);

  // The advanced JSON editor carries what the form holds, and its edits apply too.
  const plumber = await cardOf(page, 'Call the plumber');
  await plumber.getByRole('button', { name: 'Edit', exact: true }).click();
  await plumber.getByLabel('Title').fill('Call the plumber today');
  await plumber.getByRole('button', { name: 'Advanced (JSON)' }).click();
  const json = plumber.getByLabel('Parameters (JSON)');
  await expect(json).toHaveValue(/"title": "Call the plumber today"/);
  await json.fill('{"title": "Call the plumber at 9", "priority": "urgent"}');
  await plumber.getByRole('button', { name: 'Approve with edits' }).click();
  await expect(plumber.getByText(/priority/)).toBeVisible();
  await json.fill('{"title": "Call the plumber at 9", "priority": "high"}');
  await plumber.getByRole('button', { name: 'Approve with edits' }).click();
  await expect(plumber).toHaveCount(0);

  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  const oatMilk = page.getByTestId('task').filter({ hasText: 'Buy oat milk' });
  await expect(oatMilk).toBeVisible();
  await expect(oatMilk.getByText('high', { exact: true })).toBeVisible();
  await expect(oatMilk.getByText(/^due /)).toHaveCount(0);
  await expect(page.getByTestId('task').filter({ hasText: 'Call the plumber at 9' })).toBeVisible();
  await expect(page.getByTestId('task').filter({ hasText: 'Buy milk' })).toHaveCount(0);
  await context.close();
});

test('the keyboard Inbox: j/k move, e edits, a approves, r rejects, Tab and Enter still work', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  await planThreeErrands(page, model);
  await expect(page.getByTestId('keyboard-hint')).toContainText('a approve');

  const cards = page.getByTestId('proposal');
  const first = await cardOf(page, 'Buy milk');
  await page.keyboard.press('j');
  await expect(cards.nth(0)).toBeFocused();
  await page.keyboard.press('j');
  await expect(cards.nth(1)).toBeFocused();
  await page.keyboard.press('k');
  await expect(cards.nth(0)).toBeFocused();
  // A visible ring on the focused card.
  const outline = await cards.nth(0).evaluate((card) => getComputedStyle(card).outlineStyle);
  expect(outline).toBe('solid');

  // e opens the form on the focused card with its first field focused; Escape closes it.
  await page.keyboard.press('e');
  await expect(first.getByLabel('Title')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(first.getByLabel('Title')).toHaveCount(0);
  await expect(first).toBeFocused();

  // Edit again, type, then Tab to "Approve with edits" and press Enter.
  await page.keyboard.press('e');
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('Buy milk and bread');
  for (let presses = 0; presses < 12; presses += 1) {
    const name = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (name === 'Approve with edits') break;
    await page.keyboard.press('Tab');
  }
  await expect(first.getByRole('button', { name: 'Approve with edits' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(proposalCard(page, 'Buy milk')).toHaveCount(0);

  // Focus moves on to the next proposal: r rejects it, a approves the last one.
  await expect(proposalCard(page, 'Call the plumber')).toBeFocused();
  await page.keyboard.press('r');
  await expect(proposalCard(page, 'Call the plumber')).toHaveCount(0);
  await expect(proposalCard(page, 'Water the plants')).toBeFocused();
  await page.keyboard.press('a');
  await expect(page.getByTestId('proposal')).toHaveCount(0);

  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await expect(page.getByTestId('task').filter({ hasText: 'Buy milk and bread' })).toBeVisible();
  await expect(page.getByTestId('task').filter({ hasText: 'Water the plants' })).toBeVisible();
  await expect(page.getByTestId('task').filter({ hasText: 'Call the plumber' })).toHaveCount(0);
  await context.close();
});
