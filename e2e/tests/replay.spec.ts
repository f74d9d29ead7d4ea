/**
 * Replay, the timeline and Usage (issue 12). A run planned by this tab says so, with its model
 * and tokens; "Replay with…" sends the run's own prompt to another model (seen at the model
 * server: the other name, the same messages), writes nothing, and shows the two plans side by
 * side (stacked on a phone); a failed run shows its error on the timeline; Usage counts both
 * runs per mission and per model, with an unknown price and the daily budget (and, before any
 * run, says what to do).
 */
import {
  createMission,
  expect,
  planningRuns,
  proposalCard,
  relayChanges,
  signIn,
  test,
} from '../fixtures.ts';
import type { ChatRequestBody, ModelReply } from '@baton/relay/testing';

// The relay's proxy lets a device name this model besides its own (scripted-model).
test.use({ relayEnv: { BATON_MODELS: 'big-model' } });

/** Each model proposes a task named after itself, then sums up in its own name. */
function plansByModel(body: ChatRequestBody): ModelReply {
  if (body.messages.some((message) => message.role === 'tool'))
    return { content: `Plan by ${body.model}.` };
  return { toolCalls: [{ name: 'create_task', arguments: { title: `Ask ${body.model}` } }] };
}

test('Replay with… sends a run’s prompt to another model and shows both plans; Usage counts the runs', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(150_000);
  model.setScript(plansByModel);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, relay);
  // Before any run, Usage says what to do.
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  const empty = page.getByTestId('usage-empty');
  await expect(empty).toContainText('No runs yet.');
  await empty.getByRole('link', { name: 'Missions' }).click();
  await expect(page.getByRole('heading', { name: 'Missions', level: 1 })).toBeVisible();

  await createMission(page, { title: 'Morning plan', objective: 'Keep my open tasks in order' });
  await page.getByRole('link', { name: 'Morning plan' }).first().click();
  await expect(page.getByRole('heading', { name: 'Morning plan' })).toBeVisible();

  await page.getByRole('button', { name: 'Run now' }).click();
  const run = page.getByTestId('iteration');
  await expect(run).toHaveAttribute('data-status', 'planned', { timeout: 20_000 });
  // Who planned it, down to the tab; what it cost.
  await expect(run.getByTestId('planned-by')).toContainText('planned by this tab');
  await expect(run.getByTestId('planned-by')).toHaveAttribute('data-planner', 'this-tab');
  await expect(run.getByTestId('usage')).toContainText(/scripted-model · [\d,]+ tokens \(/);
  expect(model.callCount()).toBe(2);
  const original = model.calls[0]!;
  expect(original.model).toBe('scripted-model');

  await run.getByText('Replay with…').click();
  await run.getByLabel('Model').fill('big-model');
  await run.getByRole('button', { name: 'Replay (dry run)' }).click();
  const result = run.getByTestId('replay-result');
  await expect(result).toBeVisible({ timeout: 20_000 });

  // The model server saw the replay: the other model, the run's very prompt.
  expect(planningRuns(model)).toHaveLength(2);
  const replayed = planningRuns(model)[1]!;
  expect(replayed.model).toBe('big-model');
  expect(replayed.messages).toEqual(original.messages.slice(0, 2));
  expect(replayed.tools?.map((tool) => tool.function.name).sort()).toEqual(
    original.tools?.map((tool) => tool.function.name).sort(),
  );

  // Both plans, side by side.
  await expect(result.getByTestId('replay-prompt')).toContainText('The same prompt as this run');
  const thisRun = result.getByRole('region', { name: 'This run', exact: true });
  const replay = result.getByRole('region', { name: 'Replay', exact: true });
  await expect(thisRun).toContainText('Plan by scripted-model.');
  await expect(thisRun).toContainText('Ask scripted-model');
  await expect(replay.getByTestId('plan-model')).toContainText('big-model');
  await expect(replay).toContainText('Plan by big-model.');
  await expect(replay).toContainText('Ask big-model');
  const [left, right] = [await thisRun.boundingBox(), await replay.boundingBox()];
  expect(right!.x).toBeGreaterThan(left!.x + left!.width - 1);
  expect(Math.abs(right!.y - left!.y)).toBeLessThan(2);

  // A dry run: one run on the timeline, one proposal, nothing of the replay at the relay.
  await expect(page.getByTestId('iteration')).toHaveCount(1);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  await expect(proposalCard(page, 'Ask scripted-model')).toHaveCount(1);
  await expect(page.getByTestId('proposal')).toHaveCount(1);
  const relayRows = await relayChanges(relay);
  expect(JSON.stringify(relayRows)).not.toContain('big-model');

  // A run that fails shows its error on the timeline, beside the planned one.
  model.setScript(() => ({ status: 400, error: 'unknown model' }));
  await page.getByRole('link', { name: 'Missions', exact: true }).click();
  await page.getByRole('link', { name: 'Morning plan' }).first().click();
  await page.getByRole('button', { name: 'Run now' }).click();
  const failed = page.locator('[data-testid="iteration"][data-status="failed"]');
  await expect(failed).toHaveCount(1, { timeout: 20_000 });
  await expect(failed.getByTestId('iteration-error')).toContainText(
    'the model refused the request',
  );
  await expect(failed.getByTestId('planned-by')).toContainText('planned by this tab');
  // The call it paid for, through the relay's proxy, answered nothing.
  await expect(failed.getByTestId('usage')).toContainText('the relay’s model · 0 tokens');

  // On a phone the two plans stack.
  await page.setViewportSize({ width: 390, height: 844 });
  model.setScript(plansByModel);
  const planned = page.locator('[data-testid="iteration"][data-status="planned"]');
  await planned.getByText('Replay with…').click();
  await planned.getByRole('button', { name: 'Replay (dry run)' }).click();
  const stacked = planned.getByTestId('replay-result');
  await expect(stacked.getByRole('region', { name: 'Replay', exact: true })).toContainText(
    'Plan by scripted-model.',
    { timeout: 20_000 },
  );
  const top = await stacked.getByRole('region', { name: 'This run', exact: true }).boundingBox();
  const below = await stacked.getByRole('region', { name: 'Replay', exact: true }).boundingBox();
  expect(below!.y).toBeGreaterThanOrEqual(top!.y + top!.height);

  // Usage: both runs, per mission and per model, with the price it does not know.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  const byMission = page.getByTestId('usage-by-mission');
  await expect(byMission.getByRole('row', { name: /Morning plan/ })).toContainText('2 (1 failed)');
  const byModel = page.getByTestId('usage-by-model');
  await expect(byModel.getByRole('row', { name: /scripted-model/ })).toContainText('unknown price');
  await expect(page.getByTestId('usage-chart').locator('li')).toHaveCount(7);
  await expect(page.getByTestId('usage-budgets')).toContainText('2 of 24 runs');
  await page.getByLabel('Last 30 days').check();
  await expect(page.getByTestId('usage-chart').locator('li')).toHaveCount(30);
  await context.close();
});
