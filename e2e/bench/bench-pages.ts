/** What the browser bench does in the app's pages: sign in, read the worker's sync state. */
import type { Browser, BrowserContext, Page } from '@playwright/test';
import type { Relay } from '../relay-process.ts';

interface DebugHandle {
  baton: {
    debugState: () => Promise<{ ok: boolean; value?: Record<string, unknown> }>;
  };
}

/** Opens Settings and fills in the token, leaving the Sign in click to the caller. */
export async function openSignIn(page: Page, relay: Relay): Promise<void> {
  await page.goto(`${relay.url}/settings`);
  await page.waitForFunction(() => 'baton' in window);
  await page.getByLabel('Token').fill(relay.token);
}

/** Signs in as a person does and waits until the status bar says online. */
export async function signIn(page: Page, relay: Relay): Promise<void> {
  await openSignIn(page, relay);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .locator('[data-testid="connection"][data-connection="online"]')
    .waitFor({ timeout: 30_000 });
}

/**
 * Waits, polling inside the page every 10 ms, until the worker's stored cursor is `cursor`.
 * Returns when (epoch ms) it first saw a stored cursor, which one, and when it saw `cursor`.
 */
export async function waitForCursor(
  page: Page,
  cursor: string,
  timeoutMs = 300_000,
): Promise<{ first: { at: number; cursor: string }; doneAt: number }> {
  return page.evaluate(
    async ({ cursor, timeoutMs }) => {
      const { baton } = window as unknown as DebugHandle;
      const deadline = Date.now() + timeoutMs;
      let first: { at: number; cursor: string } | undefined;
      for (;;) {
        const state = await baton.debugState();
        const stored = state.ok ? state.value?.['cursor'] : undefined;
        if (typeof stored === 'string') first ??= { at: Date.now(), cursor: stored };
        if (first && stored === cursor) return { first, doneAt: Date.now() };
        if (Date.now() > deadline) throw new Error(`cursor ${cursor} not reached`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    { cursor, timeoutMs },
  );
}

/** The worker's outbox is empty (everything this device wrote reached the relay). */
export async function waitForEmptyOutbox(page: Page): Promise<void> {
  await page.waitForFunction(
    async () => {
      const state = await (window as unknown as DebugHandle).baton.debugState();
      return state.ok && state.value?.['outboxSize'] === 0;
    },
    undefined,
    { polling: 20, timeout: 30_000 },
  );
}

/**
 * A new browser context (a new device) for the bench. tsx compiles this script with esbuild's
 * keepNames, which wraps functions in `__name(…)`: functions handed to `page.evaluate` need it
 * in the page too.
 */
export async function newDevice(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript('globalThis.__name = (target) => target;');
  return context;
}
