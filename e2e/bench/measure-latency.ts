/**
 * Cross-device latency, loopback: device A (one browser context) has its Tasks page open;
 * - B→A: device B (another context, same user) adds a task through its Tasks form; timed from
 *   the form's submit in B's page until the task's row is in A's DOM (a MutationObserver);
 * - API→A: a task pushed straight to the relay's `POST /v1/sync/push` from this process, timed
 *   from just before the request until the row is in A's DOM.
 * Both pages and this process read the same system clock (`Date.now()`). One warm-up trial of
 * each is left out; trials run one after another, each once the previous one settled.
 */
import type { Browser, Page } from '@playwright/test';
import type { Relay } from '../relay-process.ts';
import { newDevice, signIn, waitForEmptyOutbox } from './bench-pages.ts';
import { createTaskChanges, pushToRelay } from './bench-relay-api.ts';

export interface LatencyFigures {
  samples: number[];
  p50: number;
  p95: number;
  max: number;
}

export function percentiles(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (share: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
  return { samples, p50: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}

/** Starts watching A's task list for `title`; `seen()` resolves with the epoch ms it appeared. */
async function watchFor(page: Page, title: string): Promise<{ seen: () => Promise<number> }> {
  await page.evaluate((title) => {
    const found = () =>
      [...document.querySelectorAll('[data-testid="task"] .grow span')].some(
        (span) => span.textContent === title,
      );
    (window as unknown as { benchSeen: Promise<number> }).benchSeen = new Promise((resolve) => {
      if (found()) return resolve(Date.now());
      const observer = new MutationObserver(() => {
        if (!found()) return;
        observer.disconnect();
        resolve(Date.now());
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    });
  }, title);
  return {
    seen: () =>
      page.evaluate(() => (window as unknown as { benchSeen: Promise<number> }).benchSeen),
  };
}

/** Adds a task through B's Tasks form; the epoch ms of the submit. */
function addTaskInPage(page: Page, title: string): Promise<number> {
  return page.evaluate((title) => {
    const input = document.getElementById('task-title') as HTMLInputElement | null;
    if (!input?.form) throw new Error('no task form');
    input.value = title;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const now = Date.now();
    input.form.requestSubmit();
    return now;
  }, title);
}

export async function measureLatency(options: {
  browser: Browser;
  relay: Relay;
  trials: number;
}): Promise<{ fromDevice: LatencyFigures; fromApi: LatencyFigures }> {
  const { browser, relay } = options;
  const contexts = [await newDevice(browser), await newDevice(browser)];
  try {
    const [pageA, pageB] = await Promise.all(contexts.map((context) => context.newPage()));
    for (const page of [pageA!, pageB!]) {
      await signIn(page, relay);
      await page.getByRole('link', { name: 'Tasks', exact: true }).click();
      await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    }
    const a = pageA!;
    const b = pageB!;
    const run = Math.random().toString(36).slice(2, 8);
    const fromDevice: number[] = [];
    for (let trial = 0; trial <= options.trials; trial += 1) {
      const title = `B to A ${run} ${trial}`;
      const watch = await watchFor(a, title);
      const sentAt = await addTaskInPage(b, title);
      const seenAt = await watch.seen();
      if (trial > 0) fromDevice.push(seenAt - sentAt);
      await waitForEmptyOutbox(b);
      await a.waitForTimeout(100);
    }
    const makeChanges = createTaskChanges({ deviceId: 'bench_api', idPrefix: 'BA' });
    const fromApi: number[] = [];
    for (let trial = 0; trial <= options.trials; trial += 1) {
      const title = `API to A ${run} ${trial}`;
      const watch = await watchFor(a, title);
      const changes = makeChanges([{ rowId: `task_api_${run}_${trial}`, title }]);
      const sentAt = Date.now();
      await pushToRelay(relay, 'bench_api', changes);
      const seenAt = await watch.seen();
      if (trial > 0) fromApi.push(seenAt - sentAt);
      await a.waitForTimeout(100);
    }
    return { fromDevice: percentiles(fromDevice), fromApi: percentiles(fromApi) };
  } finally {
    for (const context of contexts) await context.close();
  }
}
