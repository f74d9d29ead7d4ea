import { expect, relayRowIds, signIn, test } from '../fixtures.ts';

test('bad mission input is refused next to its fields, focus on the first; nothing is saved', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Missions', exact: true }).click();

  // An empty objective and an invalid cron expression: both are named at once.
  await page.getByLabel('Title').fill('Broken mission');
  await page.getByLabel('Repeats').selectOption('cron');
  await page.getByLabel('Cron expression').fill('0 9 * *');
  await page.getByRole('button', { name: 'Create mission' }).click();
  const objective = page.getByLabel('Objective');
  const cron = page.getByLabel('Cron expression');
  await expect(objective).toHaveAttribute('aria-invalid', 'true');
  await expect(objective).toHaveAccessibleDescription(/objective is required/i);
  await expect(objective).toBeFocused();
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await expect(cron).toHaveAccessibleDescription(/invalid cron expression "0 9 \* \*"/);

  // Each message goes as soon as its field is fine, before the next submit; the others stay.
  await objective.fill('Something to do');
  await expect(objective).not.toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText(/objective is required/i)).toHaveCount(0);
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await page.getByRole('button', { name: 'Create mission' }).click();
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await expect(cron).toBeFocused();
  await expect(objective).not.toHaveAttribute('aria-invalid', 'true');

  // An unknown time zone is refused for a schedule that is not cron too.
  await page.getByLabel('Repeats').selectOption('daily');
  await page.getByLabel('At (time)').fill('07:30');
  const zone = page.getByLabel('Time zone');
  await zone.fill('Mars/Olympus');
  await page.getByRole('button', { name: 'Create mission' }).click();
  await expect(zone).toHaveAttribute('aria-invalid', 'true');
  await expect(zone).toHaveAccessibleDescription(/unknown time zone “Mars\/Olympus”/);
  await expect(zone).toBeFocused();

  // A weekly schedule needs at least one day.
  await zone.fill('Europe/Berlin');
  await page.getByLabel('Repeats').selectOption('weekly');
  for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])
    await page.getByRole('checkbox', { name: day }).uncheck();
  await page.getByRole('button', { name: 'Create mission' }).click();
  const monday = page.getByRole('checkbox', { name: 'Monday' });
  await expect(monday).toHaveAttribute('aria-invalid', 'true');
  await expect(monday).toHaveAccessibleDescription(/pick at least one day/);
  await expect(zone).not.toHaveAttribute('aria-invalid', 'true');

  await expect(page.getByTestId('mission')).toHaveCount(0);
  expect(await relayRowIds(relay, 'missions')).toEqual([]);

  // Fixed, the same form saves: the refusals were about the input.
  await page.getByRole('checkbox', { name: 'Wednesday' }).check();
  await page.getByRole('button', { name: 'Create mission' }).click();
  const created = page.getByTestId('mission').filter({ hasText: 'Broken mission' });
  await expect(created).toHaveCount(1);
  await expect(created).toContainText('Wed at 07:30 (Europe/Berlin)');
  await page.reload();
  await expect(page.getByTestId('mission')).toHaveCount(1);
  await expect.poll(() => relayRowIds(relay, 'missions')).toHaveLength(1);
  await context.close();
});

test('a half-filled Settings form keeps what was typed while another form of the page is saved', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, relay); // which leaves the page on Settings

  // The webhook's address, typed at once: the relay's setting may arrive after it.
  const webhook = page.getByRole('region', { name: 'Notify me through a webhook' });
  await webhook.getByLabel('Webhook address').fill('http://127.0.0.1:9/baton-hook');

  // A model endpoint half entered, then the device's name saved: the page reads its settings
  // again, and the endpoint stays as typed.
  await page.getByLabel('Model endpoint').fill('http://localhost:11434/v1');
  await page.getByLabel('Device name').fill('Work laptop');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('Saved. Your other devices show this name.')).toBeVisible();
  await expect(page.getByLabel('Device name')).toHaveValue('Work laptop');
  await expect(page.getByLabel('Model endpoint')).toHaveValue('http://localhost:11434/v1');
  await expect(webhook.getByLabel('Webhook address')).toHaveValue('http://127.0.0.1:9/baton-hook');
  await expect(page.getByTestId('model-source')).toContainText('the relay’s model');

  // Saved, the model shows as stored; the webhook's address saves as typed.
  await page.getByLabel('Model name').fill('llama3.1');
  await page.getByRole('button', { name: 'Save model settings' }).click();
  await expect(page.getByTestId('model-source')).toContainText(
    'llama3.1 at http://localhost:11434/v1',
  );
  await webhook.getByRole('button', { name: 'Save webhook' }).click();
  await expect(webhook.getByRole('status').first()).toContainText('Saved');
  await page.reload();
  await expect(page.getByLabel('Model endpoint')).toHaveValue('http://localhost:11434/v1');
  await expect(webhook.getByLabel('Webhook address')).toHaveValue('http://127.0.0.1:9/baton-hook');
  await context.close();
});
