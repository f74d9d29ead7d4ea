/**
 * A failed run on the timeline (issue 12): its error in words, its attempts, and "Retry", which
 * plans the same slot again (one more model conversation, same iteration id) so its proposal
 * reaches the Inbox. Dry run and Retry follow Run now's rule for where a mission runs.
 */
import { defaultModelScript } from '@baton/relay/testing';
import {
  createMission,
  expect,
  planningRuns,
  proposalCard,
  relayChanges,
  signIn,
  test,
} from '../fixtures.ts';

test('a failed run says why and how often it was tried; Retry plans that slot again', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  // The first call fails on the model's side; every later one plays the usual planner.
  model.setScript((body, callIndex, request) =>
    callIndex === 0
      ? { status: 500, error: 'the model server fell over' }
      : defaultModelScript(body, callIndex, request),
  );
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  await createMission(page, { title: 'Flaky planner', objective: 'Keep my open tasks in order' });
  await page.getByRole('link', { name: 'Flaky planner' }).first().click();
  await expect(page.getByRole('heading', { name: 'Flaky planner' })).toBeVisible();

  await page.getByRole('button', { name: 'Run now' }).click();
  const run = page.getByTestId('iteration');
  await expect(run).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  const error = run.getByTestId('iteration-error');
  await expect(error).toContainText('could not be reached or was busy');
  await expect(error.getByTestId('attempts')).toHaveText('One attempt.');
  await expect(error).toContainText('A run you started is not retried by itself.');
  await error.getByText('What the model said').click();
  await expect(error).toContainText('(unavailable)');
  expect(model.callCount()).toBe(1);

  await error.getByRole('button', { name: 'Retry' }).click();
  await expect(run.getByTestId('retry-result')).toContainText('Planned.', { timeout: 20_000 });
  // Same run, planned now: one entry on the timeline, its second attempt.
  await expect(page.getByTestId('iteration')).toHaveCount(1);
  await expect(run).toHaveAttribute('data-status', 'planned');
  await expect(run.getByTestId('step-count')).toHaveText('1 step');
  await expect(run.getByTestId('attempts-badge')).toHaveText('attempt 2');
  // The failed call, then one planning conversation of three calls (list, create, done).
  expect(planningRuns(model)).toHaveLength(2);
  expect(model.callCount()).toBe(4);

  await run.getByRole('link', { name: 'Open the Inbox' }).click();
  await expect(proposalCard(page, 'Review open tasks')).toBeVisible();

  // The relay holds one iteration for the slot, planned at the second attempt.
  await expect
    .poll(async () => {
      const iterations = (await relayChanges(relay)).filter(
        (change) => change.table === 'iterations' && change.fields['status'] !== undefined,
      );
      return iterations.map((change) => [
        change.rowId,
        change.fields['status'],
        change.fields['attempts'],
      ]);
    })
    .toEqual([
      [expect.any(String), 'failed', 1],
      [expect.any(String), 'planned', 2],
    ]);
  const ids = new Set(
    (await relayChanges(relay))
      .filter((change) => change.table === 'iterations')
      .map((change) => change.rowId),
  );
  expect(ids.size).toBe(1);
  await context.close();
});

test('Dry run and Retry follow Run now: off for a relay-only mission, saying why', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(90_000);
  model.setScript(() => ({ status: 400, error: 'unknown model' }));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  await createMission(page, { title: 'Relay errands', objective: 'Keep my open tasks in order' });
  await page.getByRole('link', { name: 'Relay errands' }).first().click();
  await expect(page.getByRole('heading', { name: 'Relay errands' })).toBeVisible();

  // A run that failed for good (a refused request): not retried by itself, Retry offered.
  await page.getByRole('button', { name: 'Run now' }).click();
  const run = page.getByTestId('iteration');
  await expect(run).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  await expect(run.getByTestId('iteration-error')).toContainText('the model refused the request');
  await expect(run.getByRole('button', { name: 'Retry' })).toBeEnabled();

  // Made relay-only: the device runs none of it by hand, and says so once.
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Where it runs').selectOption('relay');
  await page.getByRole('button', { name: 'Save mission' }).click();
  const actions = page.getByTestId('mission-actions');
  await expect(actions.getByRole('button', { name: 'Run now' })).toBeDisabled();
  await expect(actions.getByRole('button', { name: 'Dry run' })).toBeDisabled();
  await expect(run.getByRole('button', { name: 'Retry' })).toBeDisabled();
  const note = page.getByTestId('run-now-blocked');
  await expect(note).toContainText('Run now, Dry run and Retry are off.');
  await expect(note).toContainText('runs only on the relay');
  await expect(actions.getByRole('button', { name: 'Dry run' })).toHaveAttribute(
    'aria-describedby',
    'run-now-note',
  );
  await context.close();
});
