import {
  debugState,
  expect,
  planningRuns,
  planSlowSlotSeenIn,
  sharedWorkerTargets,
  signIn,
  test,
} from '../fixtures.ts';

test('two SharedWorkers of different builds (an old tab after an update) still plan a slot once', async ({
  browser,
  relay,
  model,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  const oldTab = await context.newPage();
  await signIn(oldTab, relay);
  // The new build's worker has another URL (its content hash), so the browser starts a second
  // SharedWorker for tabs opened after the update. A query string gives the same effect here.
  const newTab = await context.newPage();
  await newTab.addInitScript(() => {
    const Original = window.SharedWorker;
    window.SharedWorker = class extends Original {
      constructor(url: string | URL, options?: string | WorkerOptions) {
        const next = new URL(url, location.href);
        next.searchParams.set('build', 'next');
        super(next, options);
      }
    };
  });
  await newTab.goto(`${relay.url}/inbox`);
  await oldTab.getByRole('link', { name: 'Inbox', exact: true }).click();

  const [oldState, newState] = await Promise.all([debugState(oldTab), debugState(newTab)]);
  expect(await sharedWorkerTargets(browser)).toHaveLength(2);
  expect(newState['host']).toBe('shared');
  expect(newState['hostId']).not.toBe(oldState['hostId']);
  expect([oldState['leader'], newState['leader']].filter(Boolean)).toHaveLength(1);

  await planSlowSlotSeenIn([newTab, oldTab], model, {
    title: 'Across builds',
    objective: 'Propose one small task',
  });
  expect(planningRuns(model)).toHaveLength(1);

  // The leading worker's last tab closes: the other worker takes over at once.
  const [leaderTab, otherTab] = oldState['leader'] ? [oldTab, newTab] : [newTab, oldTab];
  await leaderTab.close();
  await expect
    .poll(async () => (await debugState(otherTab))['leader'], { timeout: 15_000 })
    .toBe(true);
  await expect(otherTab.getByTestId('connection')).toHaveAttribute('data-connection', 'online', {
    timeout: 15_000,
  });
  await context.close();
});
