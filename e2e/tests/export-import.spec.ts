/**
 * Your data is yours (issue 12): everything made on one relay — a mission, its run, an approved
 * proposal and the task it made, a note, a goal — exported from Settings as one file, and
 * imported in a fresh browser signed in to another relay. The same rows show there with their
 * ids and authors, reach that relay through sync, and importing the file again duplicates
 * nothing.
 */
import { rmSync } from 'node:fs';
import {
  createMission,
  debugState,
  expect,
  expectCaughtUp,
  proposalCard,
  relayChanges,
  relayRowIds,
  signIn,
  startRelay,
  test,
} from '../fixtures.ts';

test('export from Settings, import into a fresh browser on another relay, twice', async ({
  browser,
  relay,
  model,
}, testInfo) => {
  test.setTimeout(240_000);
  const laptop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
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
  await proposal.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByRole('link', { name: 'Notes', exact: true }).click();
  // Notes and Goals both have a Title field: each is filled once its page has replaced the last.
  await expect(page.getByRole('heading', { name: 'Notes', level: 1 })).toBeVisible();
  await page.getByLabel('Title').fill('Ideas');
  await page.getByLabel('Body').fill('Walk more');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.getByRole('link', { name: 'Goals', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Goals', level: 1 })).toBeVisible();
  await page.getByLabel('Title').fill('Run 5 km');
  await page.getByLabel('Target').fill('5 km by June');
  await page.getByRole('button', { name: 'Add goal' }).click();
  await expect(page.getByText('Run 5 km')).toBeVisible();
  await expectCaughtUp(page, relay);

  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  const yourData = page.getByTestId('your-data');
  const downloading = page.waitForEvent('download');
  await yourData.getByRole('button', { name: 'Export data' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^baton-export-\d{4}-\d{2}-\d{2}\.json$/);
  const file = testInfo.outputPath('baton-export.json');
  await download.saveAs(file);
  await expect(yourData.getByRole('status')).toContainText('rows');

  // Another relay, a fresh browser: nothing there yet.
  const other = await startRelay({ modelUrl: model.url, copyCreatedDatabase: true });
  try {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const freshPage = await fresh.newPage();
    await signIn(freshPage, other);
    const importer = freshPage.getByTestId('your-data');

    // A file that is not an export is refused with the reason, and changes nothing.
    await importer.getByLabel('Import a file').setInputFiles({
      name: 'notes.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ format: 'baton-export', version: 1 })),
    });
    await importer.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(importer.getByRole('alert')).toContainText(
      'Could not import notes.json: This is not a Baton export this version can read: exportedAt',
    );

    await importer.getByLabel('Import a file').setInputFiles(file);
    await importer.getByRole('button', { name: 'Import', exact: true }).click();
    const result = importer.getByTestId('import-result');
    await expect(result).toBeVisible({ timeout: 20_000 });
    const said = ((await result.textContent()) ?? '').replace(/\s+/g, ' ');
    expect(said).toMatch(
      /Imported (\d+) rows of \S+, exported .+: \1 new, 0 updated, 0 already here/,
    );
    const rows = Number(/Imported (\d+) rows/.exec(said)?.[1]);
    // A mission, its run, its proposal, the task it made, a note and a goal.
    expect(rows).toBe(6);

    await freshPage.getByRole('link', { name: 'Missions', exact: true }).click();
    await expect(freshPage.getByTestId('mission')).toHaveCount(1);
    await freshPage.getByRole('link', { name: 'Weekly review' }).first().click();
    const run = freshPage.getByTestId('iteration');
    await expect(run).toHaveCount(1);
    await expect(run).toContainText('Review open tasks');
    await freshPage.getByRole('link', { name: 'Tasks', exact: true }).click();
    const task = freshPage.getByTestId('task').filter({ hasText: 'Review open tasks' });
    await expect(task).toHaveCount(1);
    await expect(task.getByTestId('ai-badge')).toContainText('Weekly review');
    await freshPage.getByRole('link', { name: 'Notes', exact: true }).click();
    await expect(freshPage.getByText('Walk more')).toBeVisible();
    await freshPage.getByRole('link', { name: 'Goals', exact: true }).click();
    await expect(freshPage.getByText('Run 5 km')).toBeVisible();

    // The rows reach the other relay by sync, with the same ids.
    await expectCaughtUp(freshPage, other);
    for (const table of ['missions', 'iterations', 'proposals', 'tasks', 'notes', 'goals'])
      expect(await relayRowIds(other, table), table).toEqual(await relayRowIds(relay, table));

    // Importing again changes nothing, and nothing more is pushed.
    const synced = (await relayChanges(other)).length;
    await freshPage.getByRole('link', { name: 'Settings', exact: true }).click();
    await importer.getByLabel('Import a file').setInputFiles(file);
    await importer.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(importer.getByTestId('import-result')).toHaveText(
      new RegExp(`0 new, 0 updated,\\s+${rows} already here`),
    );
    await freshPage.getByRole('link', { name: 'Tasks', exact: true }).click();
    await expect(freshPage.getByTestId('task')).toHaveCount(1);
    expect((await debugState(freshPage))['outboxSize']).toBe(0);
    expect((await relayChanges(other)).length).toBe(synced);
    await fresh.close();
  } finally {
    await other.stop();
    rmSync(other.dataDir, { recursive: true, force: true });
  }
  await laptop.close();
});
