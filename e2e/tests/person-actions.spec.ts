/**
 * What a person does with a mission's runs, seen where it lands (issue 12): an edit made before
 * approving reaches the next run's prompt at the model server; reverting a run undoes the AI's
 * change and keeps the person's later edits; after downtime, catch-up `latest` plans one slot
 * with one model call; a device-only mission is planned on the device's own model, never through
 * the relay's model proxy, even while no device is online.
 */
import { createModelServer, type ChatRequestBody, type ModelScript } from '@baton/relay/testing';
import {
  createMission,
  expect,
  expectAllSynced,
  planningRuns,
  proposalCard,
  relayRows,
  signIn,
  test,
  useDirectModel,
} from '../fixtures.ts';
import { createMissionDraft, createMissionDueSoon } from '../ui-helpers.ts';

const desktop = { width: 1280, height: 800 };
const hour = 3_600_000;

/** The text of every message of a model request, joined. */
function promptOf(body: ChatRequestBody): string {
  return body.messages.map((message) => String(message.content ?? '')).join('\n');
}

/** Model calls whose prompt is about the mission titled `title`. */
function callsAbout(calls: ChatRequestBody[], title: string): ChatRequestBody[] {
  return calls.filter((body) => promptOf(body).includes(`Mission: ${title}`));
}

test('edit then approve: the edited value reaches the next run’s prompt at the model server', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ viewport: desktop });
  const page = await context.newPage();
  await signIn(page, relay);
  const mission = await createMission(page, {
    title: 'Errands',
    objective: 'Keep my errands in order',
  });

  // The first run proposes "Review open tasks" (the default script: list the tasks, propose one).
  await mission.getByRole('button', { name: 'Run now' }).click();
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  const card = proposalCard(page, 'Review open tasks');
  await expect(card).toBeVisible({ timeout: 20_000 });
  const id = await card.getAttribute('data-proposal-id');
  const review = page.locator(`[data-proposal-id="${id}"]`);

  // The person changes the title, then approves with the edit.
  await review.getByRole('button', { name: 'Edit', exact: true }).click();
  await review.getByLabel('Title').fill('Review open tasks by Friday');
  await review.getByRole('button', { name: 'Approve with edits' }).click();
  await expect(review).toHaveCount(0);
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await expect(
    page.getByTestId('task').filter({ hasText: 'Review open tasks by Friday' }),
  ).toBeVisible();

  // The next run's prompt, as the model server received it, says what the person changed.
  await page.getByRole('link', { name: 'Missions', exact: true }).click();
  await mission.getByRole('button', { name: 'Run now' }).click();
  await expect.poll(() => planningRuns(model).length, { timeout: 20_000 }).toBe(2);
  const second = promptOf(planningRuns(model)[1]!);
  expect(second).toContain(
    'changed title from "Review open tasks" to "Review open tasks by Friday"',
  );
  // The first run's prompt had no such history.
  expect(promptOf(planningRuns(model)[0]!)).not.toContain('by Friday');
  await context.close();
});

test('revert a run: the AI’s change goes, the person’s later edits stay', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ viewport: desktop });
  const page = await context.newPage();
  await signIn(page, relay);

  // The person's own task.
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await page.getByLabel('Title').fill('Call the bank');
  await page.getByRole('button', { name: 'Add task' }).click();
  await expect(page.getByTestId('task').filter({ hasText: 'Call the bank' })).toBeVisible();

  // The run renames that task and raises its priority, and proposes a new one.
  const script: ModelScript = (body) => {
    const listed = body.messages.find((message) => message.role === 'tool');
    if (!listed) return { toolCalls: [{ name: 'list_tasks', arguments: {} }] };
    if (body.messages.filter((message) => message.role === 'tool').length > 1)
      return { content: 'Sharper title, and stamps.' };
    const tasks = JSON.parse(String(listed.content)) as Array<{ id: string; title: string }>;
    const bank = tasks.find((task) => task.title === 'Call the bank');
    if (!bank) throw new Error(`list_tasks answered ${String(listed.content)}`);
    return {
      toolCalls: [
        {
          name: 'update_task',
          arguments: { taskId: bank.id, title: 'Call the bank at 9', priority: 'high' },
        },
        { name: 'create_task', arguments: { title: 'Buy stamps' } },
      ],
    };
  };
  model.setScript(script);
  const missionId = await createMissionDraft(page, {
    schedule: { kind: 'manual' },
    title: 'Admin',
    objective: 'Keep my admin tasks sharp',
    tools: { list_tasks: 'auto', update_task: 'propose', create_task: 'propose' },
  });
  await page.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  await page.getByRole('button', { name: 'Run now' }).click();
  await expect(page.getByTestId('run-now-result')).toContainText('Planned', { timeout: 20_000 });

  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  for (const text of ['Call the bank at 9', 'Buy stamps']) {
    await proposalCard(page, text).getByRole('button', { name: 'Approve', exact: true }).click();
    await expect(proposalCard(page, text)).toHaveCount(0);
  }

  // After the run, the person edits: the renamed task's priority, and the AI's new task.
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  const renamed = page.getByTestId('task').filter({ hasText: 'Call the bank at 9' });
  await expect(renamed.getByText('high', { exact: true })).toBeVisible();
  await renamed.getByRole('button', { name: 'Edit Call the bank at 9' }).click();
  const editBank = page.getByRole('form', { name: 'Edit Call the bank at 9' });
  await editBank.getByLabel('Priority').selectOption('low');
  await editBank.getByRole('button', { name: 'Save' }).click();
  await expect(editBank).toHaveCount(0);
  const stamps = page.getByTestId('task').filter({ hasText: 'Buy stamps' });
  await stamps.getByRole('button', { name: 'Edit Buy stamps' }).click();
  const editStamps = page.getByRole('form', { name: 'Edit Buy stamps' });
  await editStamps.getByLabel('Title').fill('Buy stamps and envelopes');
  await editStamps.getByRole('button', { name: 'Save' }).click();
  await expect(
    page.getByTestId('task').filter({ hasText: 'Buy stamps and envelopes' }),
  ).toBeVisible();

  // Revert the run on the mission's timeline.
  await page.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  const run = page.getByTestId('iteration').first();
  page.once('dialog', (dialog) => void dialog.accept());
  await run.getByRole('button', { name: 'Revert this run' }).click();
  await expect(run.getByText('reverted', { exact: true })).toBeVisible();

  // The AI's rename is gone; the person's priority stays, and so does the task they edited.
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  const bank = page.getByTestId('task').filter({ hasText: 'Call the bank' });
  await expect(bank).toHaveCount(1);
  await expect(bank).not.toContainText('at 9');
  await expect(bank.getByText('low', { exact: true })).toBeVisible();
  await expect(
    page.getByTestId('task').filter({ hasText: 'Buy stamps and envelopes' }),
  ).toBeVisible();
  // The relay has the same outcome.
  await expectAllSynced(page);
  await expect
    .poll(async () =>
      [...(await relayRows(relay, 'tasks')).values()]
        .filter((task) => task['_deleted'] !== true)
        .map((task) => `${String(task['title'])}/${String(task['priority'])}`)
        .sort(),
    )
    .toEqual(['Buy stamps and envelopes/normal', 'Call the bank/low']);
  await context.close();
});

test('catch-up after downtime: `latest` plans only the newest missed slot, with one model call', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(240_000);
  const context = await browser.newContext({ viewport: desktop });
  const page = await context.newPage();
  await signIn(page, relay);

  // A relay-only mission every minute (catch-up `latest`, the default), first slot in 20 s.
  const { missionId, slotMs } = await createMissionDueSoon(page, {
    title: 'Minute digest',
    objective: 'Propose one small task',
    dueInMs: 20_000,
    everyMs: 60_000,
    runOn: 'relay',
  });
  await expect.poll(async () => (await relayRows(relay, 'missions')).has(missionId)).toBe(true);
  await context.close();

  // The relay is down while two slots pass.
  await relay.stop();
  expect(Date.now(), 'the relay stopped before the first slot').toBeLessThan(slotMs);
  await new Promise((done) => setTimeout(done, slotMs + 60_000 + 3_000 - Date.now()));
  expect(callsAbout(model.calls, 'Minute digest')).toHaveLength(0);
  await relay.start();

  // Back up, it plans the newest missed slot once and records the older one as skipped.
  const newest = `${missionId}@${new Date(slotMs + 60_000).toISOString()}`;
  const older = `${missionId}@${new Date(slotMs).toISOString()}`;
  await expect
    .poll(async () => (await relayRows(relay, 'iterations')).get(newest)?.['status'], {
      timeout: 30_000,
    })
    .toBe('planned');
  expect((await relayRows(relay, 'iterations')).get(older)?.['status']).toBe('skipped');
  // Wait two of the relay's ticks (one a second) and a model round: still one run.
  await new Promise((done) => setTimeout(done, 5_000));
  expect(planningRuns(model)).toHaveLength(1);

  // The person sees one planned and one skipped run on the mission's timeline.
  const later = await browser.newContext({ viewport: desktop });
  const laterPage = await later.newPage();
  await signIn(laterPage, relay);
  await laterPage.goto(`${relay.url}/missions/${encodeURIComponent(missionId)}`);
  const runs = laterPage.getByTestId('iteration');
  await expect(runs).toHaveCount(2, { timeout: 20_000 });
  await expect(runs.and(laterPage.locator('[data-status="planned"]'))).toHaveCount(1);
  await expect(runs.and(laterPage.locator('[data-status="skipped"]'))).toHaveCount(1);
  await later.close();
});

test('a device-only mission is planned on the device’s model, never through the relay’s proxy', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const deviceModel = await createModelServer();
  const context = await browser.newContext({ viewport: desktop });
  try {
    const page = await context.newPage();
    await signIn(page, relay);
    await useDirectModel(page, deviceModel.url);

    // Its slot falls due while every tab is closed: nobody may plan it then (the relay never
    // plans a device-only mission).
    const { slotMs, iterationId } = await createMissionDueSoon(page, {
      title: 'Private journal',
      objective: 'Propose one small task',
      dueInMs: 8_000,
      everyMs: hour,
      runOn: 'device',
    });
    await expectAllSynced(page);
    await page.close();
    expect(Date.now(), 'the tab closed before the slot').toBeLessThan(slotMs);
    await new Promise((done) => setTimeout(done, slotMs + 5_000 - Date.now()));
    expect((await relayRows(relay, 'iterations')).has(iterationId)).toBe(false);

    // Reopened, this device plans the slot with its own model and the proposal waits.
    const reopened = await context.newPage();
    await reopened.goto(`${relay.url}/inbox`);
    await expect(proposalCard(reopened, 'Review open tasks')).toBeVisible({ timeout: 30_000 });
    expect(planningRuns(deviceModel)).toHaveLength(1);
    expect(callsAbout(deviceModel.calls, 'Private journal').length).toBe(deviceModel.callCount());

    // The relay's model (behind its proxy and its own runner) never saw a call.
    expect(model.callCount(), 'calls at the relay’s model server').toBe(0);
  } finally {
    await context.close();
    await deviceModel.close();
  }
});
