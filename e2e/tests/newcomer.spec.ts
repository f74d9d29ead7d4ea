/**
 * What a newcomer tripped on (issue 12), as journeys: the mission form's tools and presets, the
 * cron message, the form closing after Create, the mission header, Run now offline and runOn.
 */
import { createModelServer } from '@baton/relay/testing';
import type { Locator, Page } from '@playwright/test';
import { expect, planningRuns, signIn, test, useDirectModel } from '../fixtures.ts';
import { createMissionDueSoon } from '../ui-helpers.ts';

const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 800 };

const tool = (page: Page, name: string) => page.getByRole('checkbox', { name, exact: true });

async function box(locator: Locator) {
  const found = await locator.boundingBox();
  if (!found) throw new Error('not on screen');
  return found;
}

/** Run now, Dry run, Pause and Edit share one row; what came of a run shows below them. */
async function expectHeaderInOneRow(page: Page): Promise<void> {
  const actions = page.getByTestId('mission-actions');
  const buttons = ['Run now', 'Dry run', 'Pause', 'Edit'].map((name) =>
    actions.getByRole('button', { name, exact: true }),
  );
  const boxes = await Promise.all(buttons.map(box));
  const top = boxes[0]!.y;
  for (const found of boxes) {
    expect(Math.abs(found.y - top)).toBeLessThan(3);
    expect(found.x + found.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  }
  const result = await box(page.getByTestId('run-now-result'));
  expect(result.y).toBeGreaterThan(top + boxes[0]!.height);
  // Full width, not a narrow column beside the buttons.
  expect(result.width).toBeGreaterThan(page.viewportSize()!.width * 0.6);
}

test('new mission: read tools only, presets, one cron message, closes after Create; header in one row; offline Run now says what it needs', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ viewport: desktop });
  const page = await context.newPage();
  await signIn(page, relay);
  await page.getByRole('link', { name: 'Missions', exact: true }).click();

  // A first mission: the form is open, with the read tools for what it reads and no write tool.
  await expect(page.getByLabel('Title')).toBeVisible();
  for (const name of ['list_tasks', 'search_notes', 'get_goal'])
    await expect(tool(page, name)).toBeChecked();
  for (const name of ['create_task', 'complete_task', 'update_note', 'log_goal_progress'])
    await expect(tool(page, name)).not.toBeChecked();
  await expect(page.getByTestId('tools-count')).toHaveText('9 of 19 allowed');
  // Reading less reads with fewer tools.
  await page.getByRole('checkbox', { name: 'Notes', exact: true }).uncheck();
  await expect(tool(page, 'list_notes')).not.toBeChecked();
  await expect(page.getByTestId('tools-count')).toHaveText('6 of 19 allowed');

  // Presets set what it reads and the tools, every write asking first.
  const presets = page.getByRole('group', { name: 'Tool presets' });
  await presets.getByRole('button', { name: 'Notes only' }).click();
  await expect(presets.getByRole('button', { name: 'Notes only' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(page.getByLabel('Tasks', { exact: true })).toHaveValue('none');
  await expect(tool(page, 'append_note')).toBeChecked();
  await expect(tool(page, 'list_tasks')).not.toBeChecked();
  await presets.getByRole('button', { name: 'Everything, asking first' }).click();
  await expect(page.getByTestId('tools-count')).toHaveText('19 of 19 allowed');
  await expect(page.getByLabel('Policy for complete_goal')).toHaveValue('propose');
  await presets.getByRole('button', { name: 'Tasks only' }).click();
  await expect(page.getByTestId('tools-count')).toHaveText('6 of 19 allowed');
  await expect(tool(page, 'create_task')).toBeChecked();
  await expect(tool(page, 'list_notes')).not.toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Notes', exact: true })).not.toBeChecked();

  // The cron message asks for the five parts the hint shows.
  await page.getByLabel('Title').fill('Weekday plan');
  await page.getByLabel('Objective').fill('Propose what to do today');
  await page.getByLabel('Repeats').selectOption('cron');
  const cron = page.getByLabel('Cron expression');
  await cron.fill('0 9 * *');
  await page.getByRole('button', { name: 'Create mission' }).click();
  await expect(cron).toHaveAccessibleDescription(/^Five parts: minute hour day-of-month month/);
  await expect(cron).toHaveAccessibleDescription(/has 4 parts; a cron expression has five/);
  await cron.fill('30 7 * * 1-5');

  // Created: the form closes and the new mission shows, marked, with a link to it.
  await page.getByRole('button', { name: 'Create mission' }).click();
  await expect(page.getByTestId('created-notice')).toContainText('Created Weekday plan');
  await expect(page.getByLabel('Title')).toHaveCount(0);
  const mission = page.getByTestId('mission').filter({ hasText: 'Weekday plan' });
  await expect(mission).toHaveClass(/just-created/);
  await expect(page.getByRole('button', { name: 'New mission' })).toHaveAttribute(
    'aria-expanded',
    'false',
  );

  // The mission page: Run now with the other buttons in one row, its message below them.
  await mission.getByRole('link', { name: 'Weekday plan' }).click();
  await page.getByRole('button', { name: 'Run now' }).click();
  await expect(page.getByTestId('run-now-result')).toContainText('Planned', { timeout: 20_000 });
  expect(planningRuns(model)).toHaveLength(1);
  await expectHeaderInOneRow(page);
  await page.setViewportSize(phone);
  await expectHeaderInOneRow(page);

  // On a phone the status bar still says who holds the baton.
  const baton = page.getByTestId('baton');
  await expect(baton).toBeInViewport();
  await expect(baton).toContainText('Baton: this browser');

  // The relay goes away. With no model of its own this device plans nothing: the bar says so,
  // and Run now is off, saying why and where to fix it.
  await page.setViewportSize(desktop);
  await relay.stop();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'offline', {
    timeout: 20_000,
  });
  await expect(baton).toContainText('with no model of its own, it plans nothing');
  await expect(page.getByTestId('no-device-model').getByRole('link')).toHaveAttribute(
    'href',
    '/settings',
  );
  await expect(page.getByRole('button', { name: 'Run now' })).toBeDisabled();
  const blocked = page.getByTestId('run-now-blocked');
  await expect(blocked).toContainText('Offline: without the relay');
  await expect(blocked.getByRole('link', { name: 'Open Settings' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Run now' })).toHaveAccessibleDescription(
    /Offline/,
  );
  // Dry run plans on this device too: off by the same rule, described by the same note.
  await expect(blocked).toContainText('Run now and Dry run are off.');
  await expect(page.getByRole('button', { name: 'Dry run' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Dry run' })).toHaveAccessibleDescription(
    /Offline/,
  );
  await page.setViewportSize(phone);
  await expect(baton).toBeInViewport();
  await expect(baton).toContainText('Baton: this browser');
  await page.setViewportSize(desktop);

  // Back online, Run now is on again.
  await relay.start();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'online', {
    timeout: 30_000,
  });
  await expect(page.getByRole('button', { name: 'Run now' })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Dry run' })).toBeEnabled();
  await expect(page.getByTestId('run-now-blocked')).toHaveCount(0);
  await context.close();
});

test('runOn: a device-only mission never reaches the relay’s model; a relay-only one is never run on the device', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const deviceModel = await createModelServer();
  const context = await browser.newContext({ viewport: desktop });
  const page = await context.newPage();
  try {
    await signIn(page, relay);

    // The form says at creation what a device-only mission needs, and that this device lacks it.
    await page.getByRole('link', { name: 'Missions', exact: true }).click();
    await page.getByLabel('Where it runs').selectOption('device');
    const hint = page.getByTestId('run-on-hint');
    await expect(hint).toContainText('never leave your devices');
    await expect(hint).toContainText('This device has none yet');
    await expect(hint.getByRole('link', { name: 'set one in Settings' })).toBeVisible();

    // Its due slot fails here with the reason, and the relay's model is never called.
    const privateMission = await createMissionDueSoon(page, {
      title: 'Private journal',
      objective: 'Propose one small task',
      dueInMs: 2_000,
      everyMs: 3_600_000,
      runOn: 'device',
    });
    await page.goto(`${relay.url}/missions/${encodeURIComponent(privateMission.missionId)}`);
    const failed = page.getByTestId('iteration').filter({ hasText: 'never goes through' });
    await expect(failed).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
    // Run now is off, saying why.
    await expect(page.getByRole('button', { name: 'Run now' })).toBeDisabled();
    await expect(page.getByTestId('run-now-blocked')).toContainText('never uses the relay’s model');

    // A relay-only mission: Run now is off on this device, in the list and on its page.
    await createMissionDueSoon(page, {
      title: 'Relay digest',
      objective: 'Propose one small task',
      dueInMs: 3_600_000,
      everyMs: 3_600_000,
      runOn: 'relay',
    });
    await page.getByRole('link', { name: 'Missions', exact: true }).click();
    const relayCard = page.getByTestId('mission').filter({ hasText: 'Relay digest' });
    await expect(relayCard.getByRole('button', { name: 'Run now' })).toBeDisabled();
    await expect(relayCard.getByTestId('run-now-blocked')).toHaveText(
      'Run now: runs on the relay only.',
    );
    await relayCard.getByRole('link', { name: 'Relay digest' }).click();
    // The list stays on screen until the mission page has loaded: wait for the page itself.
    await expect(page.getByRole('heading', { level: 1, name: 'Relay digest' })).toBeVisible();
    await expect(page.getByTestId('run-now-blocked')).toHaveCount(1);
    await expect(page.getByTestId('run-now-blocked')).toContainText('runs only on the relay');

    // With a model of its own, the device plans the private mission, at its own model only.
    await useDirectModel(page, deviceModel.url);
    await page.goto(`${relay.url}/missions/${encodeURIComponent(privateMission.missionId)}`);
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect(page.getByTestId('run-now-result')).toContainText('Planned', {
      timeout: 20_000,
    });
    expect(planningRuns(deviceModel)).toHaveLength(1);
    // The relay's model (its proxy and its own runner) saw the relay-only mission, and never the
    // private one.
    const about = (title: string) =>
      model.calls.filter((call) =>
        call.messages.some((message) => String(message.content).includes(`Mission: ${title}`)),
      );
    expect(about('Private journal'), 'private prompts at the relay’s model').toHaveLength(0);
    expect(model.calls.length).toBe(about('Relay digest').length);
    expect(
      deviceModel.calls.every((call) =>
        call.messages.some((message) => String(message.content).includes('Private journal')),
      ),
    ).toBe(true);
  } finally {
    await context.close();
    await deviceModel.close();
  }
});
