import { expect, relayRowIds, signIn, test } from '../fixtures.ts';

test('an empty objective and an invalid cron are refused next to their fields; nothing is saved', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Missions', exact: true }).click();

  await page.getByLabel('Title').fill('Broken mission');
  await page.getByLabel('Repeats').selectOption('cron');
  await page.getByLabel('Cron expression').fill('0 9 * *');
  await page.getByRole('button', { name: 'Create mission' }).click();
  const objective = page.getByLabel('Objective');
  await expect(objective).toHaveAttribute('aria-invalid', 'true');
  await expect(objective).toHaveAccessibleDescription(/objective is required/i);

  await objective.fill('Something to do');
  await page.getByRole('button', { name: 'Create mission' }).click();
  const cron = page.getByLabel('Cron expression');
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await expect(cron).toHaveAccessibleDescription(/invalid cron expression "0 9 \* \*"/);
  await expect(objective).not.toHaveAttribute('aria-invalid', 'true');

  await expect(page.getByTestId('mission')).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Missions', exact: true })).toBeVisible();
  await expect(page.getByTestId('mission')).toHaveCount(0);
  expect(await relayRowIds(relay, 'missions')).toEqual([]);
  await context.close();
});
