/**
 * Journey fixtures that read as user steps: a scripted model server (real HTTP, counting calls),
 * a real relay process serving the built webapp on embedded PGlite, and helpers for what a
 * person does in the app.
 */
import { rmSync } from 'node:fs';
import { test as base, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { createModelServer, type ChatRequestBody, type ModelServer } from '@baton/relay/testing';
import { startRelay, type Relay } from './relay-process.ts';

export { startRelay, type Relay };

/** Requests that opened a planning run: no tool results yet. One per planned slot. */
export function planningRuns(model: ModelServer): ChatRequestBody[] {
  return model.calls.filter((body) => !body.messages.some((message) => message.role === 'tool'));
}

export const test = base.extend<{
  model: ModelServer;
  relay: Relay;
  /** Extra environment for the relay process (`test.use({ relayEnv: {...} })`). */
  relayEnv: Record<string, string>;
  /**
   * Whether the relay starts on an empty data folder and creates its database there, as on a
   * person's first `npm start` (`test.use({ freshDatabase: true })`). Otherwise it starts on a
   * copy of a folder PGlite created once for this run: the same first start from the migrations
   * on, 5-7 s sooner.
   */
  freshDatabase: boolean;
  /** The pages' console, errors and navigations, printed when a journey fails (automatic). */
  pageLog: void;
}>({
  relayEnv: [{}, { option: true }],
  freshDatabase: [false, { option: true }],
  // Playwright reads a fixture's dependencies from its first parameter, so it must be a pattern.
  // eslint-disable-next-line no-empty-pattern
  model: async ({}, use) => {
    const model = await createModelServer();
    await use(model);
    await model.close();
  },
  pageLog: [
    async ({ browser }, use, testInfo) => {
      const started = Date.now();
      const lines: string[] = [];
      const note = (line: string) => lines.push(`+${Date.now() - started} ms ${line}`);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const context = await newContext(options);
        context.on('console', (message) => note(`console.${message.type()}: ${message.text()}`));
        context.on('weberror', (error) => note(`page error: ${error.error().message}`));
        context.on('page', (page) =>
          page.on('framenavigated', (frame) => {
            if (frame === page.mainFrame()) note(`navigated: ${frame.url()}`);
          }),
        );
        return context;
      };
      await use();
      browser.newContext = newContext;
      if (testInfo.status !== testInfo.expectedStatus && lines.length > 0) {
        const log = lines.join('\n');
        await testInfo.attach('pages.log', { body: log });
        // Printed whole too: the reporter shows only an attachment's first 300 characters.
        console.log(`pages of "${testInfo.title}":\n${log}`);
      }
    },
    { auto: true },
  ],
  relay: async ({ model, relayEnv, freshDatabase }, use, testInfo) => {
    const relay = await startRelay({
      modelUrl: model.url,
      env: relayEnv,
      copyCreatedDatabase: !freshDatabase,
    });
    await use(relay);
    await relay.stop();
    if (testInfo.status !== testInfo.expectedStatus)
      await testInfo.attach('relay.log', { body: relay.output() });
    rmSync(relay.dataDir, { recursive: true, force: true });
  },
});

export { expect };

/** Opens the app and signs in with the relay's token, as a person does on a new device. */
export async function signIn(page: Page, relay: Relay): Promise<void> {
  await page.goto(`${relay.url}/settings`);
  await page.getByLabel('Token').fill(relay.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'online', {
    timeout: 15_000,
  });
}

/** Creates a mission through the form: every hour (or a cron), allowed to list and create tasks. */
export async function createMission(
  page: Page,
  options: { title: string; objective: string; cron?: string },
): Promise<Locator> {
  await page.getByRole('link', { name: 'Missions', exact: true }).click();
  // The form is open for a first mission and closed after each one: "New mission" opens it.
  await page.getByRole('button', { name: 'New mission' }).click();
  await page.getByLabel('Title').fill(options.title);
  await page.getByLabel('Objective').fill(options.objective);
  if (options.cron) {
    await page.getByLabel('Repeats').selectOption('cron');
    await page.getByLabel('Cron expression').fill(options.cron);
  } else {
    await page.getByLabel('Every (minutes)').fill('60');
  }
  await page.getByRole('checkbox', { name: 'list_tasks' }).check();
  await page.getByRole('checkbox', { name: 'create_task' }).check();
  await page.getByRole('button', { name: 'Create mission' }).click();
  const mission = page.getByTestId('mission').filter({ hasText: options.title });
  await expect(mission).toBeVisible();
  return mission;
}

/** The inbox card of a pending proposal whose text contains `text`. */
export function proposalCard(page: Page, text: string): Locator {
  return page.getByTestId('proposal').filter({ hasText: text });
}

type Result<T> = { ok: true; value: T } | { ok: false; error: { kind: string; message: string } };

/** The page's `window.baton` debug handle (apps/webapp/src/lib/engine-client.ts). */
interface BatonHandle {
  createMission: (draft: Record<string, unknown>) => Promise<Result<{ id: string }>>;
  debugState: () => Promise<Result<Record<string, unknown>>>;
  poke: () => Promise<Result<null>>;
  engineStart: () => { state: string; host?: string; fallbackReason?: string | null };
}

/** The engine worker's debug state as a page sees it (`window.baton.debugState()`). */
export async function debugState(page: Page): Promise<Record<string, unknown>> {
  // Right after a navigation the app has not yet connected to its worker.
  await page.waitForFunction(() => 'baton' in window);
  const result = await page.evaluate(async () => {
    const baton = (window as unknown as { baton?: BatonHandle }).baton;
    if (!baton) throw new Error('window.baton is missing');
    return baton.debugState();
  });
  if (!result.ok) throw new Error(`debugState failed: ${result.error.message}`);
  return result.value;
}

/** How the engine started in the page's tab (SharedWorker, or the per-tab fallback and why). */
export async function engineStart(
  page: Page,
): Promise<{ state: string; host?: string; fallbackReason?: string | null }> {
  await page.waitForFunction(() => 'baton' in window);
  return page.evaluate(() => {
    const baton = (window as unknown as { baton?: BatonHandle }).baton;
    if (!baton) throw new Error('window.baton is missing');
    return baton.engineStart();
  });
}

/** What `createNearDueMission` made: the ids a journey asserts on. */
export interface NearDueMission {
  missionId: string;
  /** The first slot, epoch ms: `dueInMs` after the call. */
  slotMs: number;
  /** `missionId@slotISO`, the iteration id every replica computes for that slot. */
  iterationId: string;
}

/**
 * Creates, through the worker's own createMission API (`window.baton.createMission`), a mission
 * repeating every `everyMs` whose first slot falls `dueInMs` from now, allowed to list and create
 * tasks. The form cannot express such an anchor: its interval slots start one period after
 * creation.
 */
export async function createNearDueMission(
  page: Page,
  options: { title: string; objective: string; dueInMs: number; everyMs?: number },
): Promise<NearDueMission> {
  const everyMs = options.everyMs ?? 60_000;
  const slotMs = Math.ceil((Date.now() + options.dueInMs) / 1000) * 1000;
  const draft = {
    title: options.title,
    objective: options.objective,
    schedule: { kind: 'interval', everyMs, anchor: slotMs - everyMs },
    tools: { list_tasks: 'auto', create_task: 'propose' },
  };
  const result = await page.evaluate(async (input) => {
    const baton = (window as unknown as { baton?: BatonHandle }).baton;
    if (!baton) throw new Error('window.baton is missing');
    return baton.createMission(input);
  }, draft);
  if (!result.ok) throw new Error(`createMission refused: ${JSON.stringify(result.error)}`);
  const missionId = result.value.id;
  return { missionId, slotMs, iterationId: `${missionId}@${new Date(slotMs).toISOString()}` };
}

/**
 * With a slow model (3 s a call, so a planning run takes about 9 s), makes a slot due in 4 s and
 * waits until its proposal shows live in every tab, then 8 s more: long enough that a second
 * planner (another engine host ticking every 5 s, or the relay every second) would have started
 * its own run. Journeys then assert `planningRuns(model)` is one.
 */
export async function planSlowSlotSeenIn(
  tabs: Page[],
  model: ModelServer,
  mission: { title: string; objective: string },
): Promise<NearDueMission> {
  model.setDelay(3_000);
  const created = await createNearDueMission(tabs[0]!, { ...mission, dueInMs: 4_000 });
  for (const tab of tabs) {
    await expect(proposalCard(tab, 'Review open tasks')).toBeVisible({ timeout: 40_000 });
  }
  await tabs[0]!.waitForTimeout(8_000);
  return created;
}

/** A change as the relay's pull API returns it (only the parts journeys read). */
export interface PulledChange {
  id: string;
  table: string;
  rowId: string;
  fields: Record<string, unknown>;
  hlc: string;
  deviceId: string;
}

/** Every change the relay holds for the user, in commit order, through `GET /v1/sync/pull`. */
export async function relayChanges(relay: Relay): Promise<PulledChange[]> {
  const changes: PulledChange[] = [];
  let since: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '1000' });
    if (since) query.set('since', since);
    const response = await fetch(`${relay.url}/v1/sync/pull?${query}`, {
      headers: { authorization: `Bearer ${relay.token}` },
    });
    if (!response.ok) throw new Error(`pull answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as {
      changes: PulledChange[];
      cursor: string;
      more: boolean;
    };
    changes.push(...page.changes);
    since = page.cursor;
    if (!page.more) return changes;
  }
}

/**
 * The relay's rows of one table, each field the value of its latest change by HLC. Good enough to
 * count rows and read plain fields; write-once groups are the engine's business, not this one's.
 */
export async function relayRows(
  relay: Relay,
  table: string,
): Promise<Map<string, Record<string, unknown>>> {
  const rows = new Map<string, Record<string, unknown>>();
  const stamps = new Map<string, string>();
  const changes = (await relayChanges(relay)).filter((change) => change.table === table);
  for (const change of changes) {
    const row = rows.get(change.rowId) ?? {};
    for (const [field, value] of Object.entries(change.fields)) {
      const key = `${change.rowId}\n${field}`;
      if ((stamps.get(key) ?? '') <= change.hlc) {
        stamps.set(key, change.hlc);
        row[field] = value;
      }
    }
    rows.set(change.rowId, row);
  }
  return rows;
}

/** The ids of a table's rows at the relay (deleted ones included). */
export async function relayRowIds(relay: Relay, table: string): Promise<string[]> {
  return [...(await relayRows(relay, table)).keys()].sort();
}

/** The relay's newest cursor for the user (the sequence of its latest change). */
export async function relayCursor(relay: Relay): Promise<string | null> {
  let since: string | null = null;
  for (;;) {
    const query = new URLSearchParams({ limit: '1000' });
    if (since) query.set('since', since);
    const response = await fetch(`${relay.url}/v1/sync/pull?${query}`, {
      headers: { authorization: `Bearer ${relay.token}` },
    });
    if (!response.ok) throw new Error(`pull answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { cursor: string | null; more: boolean };
    since = page.cursor ?? since;
    if (!page.more) return since;
  }
}

/**
 * Waits until the device and the relay agree: nothing left in the device's outbox and the device
 * has pulled up to the relay's newest change. (The status bar alone can show a stale "All changes
 * synced" for a moment after a write.)
 */
export async function expectCaughtUp(page: Page, relay: Relay, timeout = 30_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const state = await debugState(page);
        const cursor = await relayCursor(relay);
        return (
          state['outboxSize'] === 0 &&
          state['connection'] === 'online' &&
          state['cursor'] === cursor
        );
      },
      { timeout, message: 'the device caught up with the relay' },
    )
    .toBe(true);
}

/** The status bar says every local change reached the relay. */
export async function expectAllSynced(page: Page, timeout = 20_000): Promise<void> {
  await expect(page.getByTestId('outbox')).toHaveText('All changes synced', { timeout });
}

/** The target ids of every SharedWorker the browser runs now (one per context that has one). */
export async function sharedWorkerTargets(browser: Browser): Promise<string[]> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    return targetInfos.filter((info) => info.type === 'shared_worker').map((info) => info.targetId);
  } finally {
    await cdp.detach();
  }
}

/**
 * Cuts one SharedWorker off the network with CDP (`context.setOffline` does not reach it):
 * `Network.emulateNetworkConditions {offline: true}` sent to the worker's target. Returns a
 * function that puts it back online.
 */
export async function cutOffWorker(
  browser: Browser,
  targetId: string,
): Promise<{ reconnect: () => Promise<void> }> {
  const cdp = await browser.newBrowserCDPSession();
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
  let nextId = 0;
  const pending = new Map<number, (message: { error?: { message: string } }) => void>();
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message) as { id?: number; error?: { message: string } };
    if (message.id !== undefined) pending.get(message.id)?.(message);
  });
  const send = async (method: string, params: Record<string, unknown>) => {
    nextId += 1;
    const id = nextId;
    const answered = new Promise<{ error?: { message: string } }>((done) => pending.set(id, done));
    await cdp.send('Target.sendMessageToTarget', {
      sessionId,
      message: JSON.stringify({ id, method, params }),
    });
    const answer = await answered;
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  };
  const conditions = (offline: boolean) => ({
    offline,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  await send('Network.enable', {});
  await send('Network.emulateNetworkConditions', conditions(true));
  return {
    reconnect: async () => {
      await send('Network.emulateNetworkConditions', conditions(false));
      await cdp.detach();
    },
  };
}

/** Points this device at its own model endpoint (Settings), so it can plan without the relay. */
export async function useDirectModel(page: Page, modelUrl: string): Promise<void> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  // The form fills itself from the worker once loaded; typing earlier would be overwritten.
  await expect(page.getByTestId('model-source')).toContainText('the relay’s model');
  await page.getByLabel('Model endpoint').fill(modelUrl);
  await page.getByLabel('API key').fill('test-key');
  await page.getByLabel('Model name').fill('scripted-model');
  await page.getByRole('button', { name: 'Save model settings' }).click();
  await expect(page.getByTestId('model-source')).toContainText(`scripted-model at ${modelUrl}`);
}
