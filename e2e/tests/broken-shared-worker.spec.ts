import { debugState, engineStart, expect, signIn, test } from '../fixtures.ts';

test('a SharedWorker that fails to load: the tab runs its own worker and the app works', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  // Every SharedWorker this page makes points at a script that is not there (the relay answers
  // with the app's HTML, which no browser runs as a worker).
  await context.addInitScript(() => {
    const Original = window.SharedWorker;
    window.SharedWorker = class extends Original {
      constructor(_url: string | URL, options?: string | WorkerOptions) {
        super('/no-such-worker.js', options);
      }
    };
  });
  const page = await context.newPage();
  await signIn(page, relay);
  expect(await engineStart(page)).toMatchObject({
    state: 'ready',
    host: 'dedicated',
    fallbackReason: expect.stringMatching(/shared engine worker failed to load/),
  });
  expect(await debugState(page)).toMatchObject({ host: 'dedicated', leader: true });
  await context.close();
});

test('a SharedWorker that never answers: after a few seconds the tab runs its own worker', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  // A same-origin script that loads and never answers (the page's CSP allows workers only from
  // the relay's origin, so not from a blob: URL).
  await context.route('**/silent-shared-worker.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: '// never answers' }),
  );
  await context.addInitScript(() => {
    const Original = window.SharedWorker;
    window.SharedWorker = class extends Original {
      constructor(_url: string | URL, options?: string | WorkerOptions) {
        super('/silent-shared-worker.js', options);
      }
    };
  });
  const page = await context.newPage();
  await page.goto(`${relay.url}/inbox`);
  await expect(page.getByTestId('engine-starting')).toBeVisible();
  await signIn(page, relay);
  expect(await engineStart(page)).toMatchObject({
    host: 'dedicated',
    fallbackReason: expect.stringMatching(/did not answer within 6 s/),
  });
  await context.close();
});

test('when no worker can start, the page says so instead of waiting forever', async ({
  browser,
  relay,
}) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(_url: string | URL, options?: WorkerOptions) {
        super('/no-such-worker.js', options);
      }
    };
  });
  const page = await context.newPage();
  await page.goto(`${relay.url}/tasks`);
  const alert = page.getByTestId('engine-failed');
  await expect(alert).toBeVisible({ timeout: 30_000 });
  await expect(alert).toHaveAttribute('role', 'alert');
  await expect(alert).toContainText('The engine could not start in this browser');
  await expect(alert.getByRole('button', { name: 'Reload' })).toBeVisible();
  await expect(page.getByTestId('engine-starting')).toHaveCount(0);
  await context.close();
});
