/**
 * The baton at its edges: what a slot costs when the device that should plan it goes away at
 * the worst moment. Each journey counts conversations per slot at the scripted model server (a
 * conversation is a request with no assistant or tool message yet; the prompt names the mission
 * and the slot) and prints them, one line per journey.
 */
import { formatHlc, type Change } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { defaultModelScript, type ChatRequestBody, type ModelServer } from '@baton/relay/testing';
import type { Page } from '@playwright/test';
import {
  debugState,
  expect,
  expectCaughtUp,
  proposalCard,
  relayChanges,
  relayRowIds,
  signIn,
  test,
  type Relay,
} from '../fixtures.ts';
import { createMissionDueSoon, relayMergedRows } from '../ui-helpers.ts';

const hour = 3_600_000;
/** CLAIM_RELEASE_GRACE_MS: how long the relay waits for a host that left before freeing its claims. */
const releaseGraceMs = 10_000;
/** TICK_INTERVAL_MS of the relay in these journeys. */
const relayTickMs = 1_000;
/** A device host ticks every 5 s (apps/webapp/src/lib/worker/tick-loop.ts). */
const deviceTickMs = 5_000;

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The slot a planning conversation is for, as its prompt names it: `Mission title @ slot ISO`. */
function slotOf(body: ChatRequestBody): string {
  const prompt = body.messages.find((message) => message.role === 'user')?.content;
  const text = typeof prompt === 'string' ? prompt : JSON.stringify(prompt);
  const title = /^Mission: (.*)$/m.exec(text)?.[1];
  const slot = /This run is for the slot (\S+)\./.exec(text)?.[1];
  if (!title || !slot) throw new Error(`a planning prompt without its mission or slot: ${text}`);
  return `${title} @ ${slot}`;
}

const slotKey = (title: string, slotMs: number) => `${title} @ ${new Date(slotMs).toISOString()}`;

interface Conversations {
  /** Every conversation in arrival order: its slot and when its first request arrived (ms). */
  opened: Array<{ slot: string; at: number }>;
  count(slot: string): number;
  perSlot(): Record<string, number>;
}

/**
 * Answers as the default script does and records each conversation as its opening request
 * arrives. The first conversation's opening answer waits for `holdFirst` (a planner is then
 * mid-plan, its model call in flight, for as long as a journey needs).
 */
function recordConversations(
  model: ModelServer,
  options: { holdFirst?: () => Promise<void> } = {},
): Conversations {
  const opened: Conversations['opened'] = [];
  model.setScript(async (body, callIndex, request) => {
    const opening = !body.messages.some(
      (message) => message.role === 'assistant' || message.role === 'tool',
    );
    if (opening) {
      opened.push({ slot: slotOf(body), at: Date.now() });
      if (opened.length === 1) await options.holdFirst?.();
    }
    return defaultModelScript(body, callIndex, request);
  });
  return {
    opened,
    count: (slot) => opened.filter((conversation) => conversation.slot === slot).length,
    perSlot: () =>
      Object.fromEntries(
        [...new Set(opened.map(({ slot }) => slot))].map((slot) => [
          slot,
          opened.filter((conversation) => conversation.slot === slot).length,
        ]),
      ),
  };
}

/** Pushes `count` new tasks as another device would, at most 1,000 changes a request. */
async function pushTasksFromAnotherDevice(relay: Relay, count: number): Promise<void> {
  const deviceId = 'dev_laptop';
  const ids = createSequentialIds('DEV');
  const wallMs = Date.now();
  const changes: Change[] = Array.from({ length: count }, (_, index) => ({
    id: ids.ulid(),
    table: 'tasks',
    rowId: `laptop_task_${index + 1}`,
    fields: {
      title: `Laptop task ${index + 1}`,
      notes: '',
      due: null,
      priority: 'normal',
      done: false,
    },
    hlc: formatHlc({ wallMs, counter: index, nodeId: deviceId }),
    actor: { kind: 'user', deviceId },
    deviceId,
  }));
  for (let start = 0; start < changes.length; start += 1_000) {
    const batch = changes.slice(start, start + 1_000);
    const response = await fetch(`${relay.url}/v1/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${relay.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId, changes: batch }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(((await response.json()) as { accepted: number }).accepted).toBe(batch.length);
  }
}

/** The relay's iteration rows of one mission. */
async function iterationsOf(relay: Relay, missionId: string) {
  return (await relayMergedRows(relay, 'iterations')).filter((row) => row.missionId === missionId);
}

/** Creates a mission due in 3 s and waits until this page's device is mid-plan of its slot. */
async function deviceMidPlan(page: Page, conversations: Conversations, title: string) {
  const mission = await createMissionDueSoon(page, {
    title,
    objective: 'Propose one small task',
    dueInMs: 3_000,
    everyMs: hour,
    runOn: 'any',
  });
  const slot = slotKey(title, mission.slotMs);
  await expect.poll(() => conversations.count(slot), { timeout: 30_000 }).toBe(1);
  expect((await debugState(page))['planning']).toMatchObject({
    iterationId: mission.iterationId,
    phase: 'planning',
  });
  return { mission, slot };
}

test.describe('the relay planned while every tab was closed', () => {
  test.use({ relayEnv: { MODEL_TIMEOUT_MS: '5000', CLAIM_TTL_MS: '10000' } });
  const claimTtlMs = 10_000;

  test('reopening after the claim ran out, behind 2,000 changes, costs no second conversation', async ({
    browser,
    relay,
    model,
  }) => {
    test.setTimeout(120_000);
    let backlogPushed!: () => void;
    const backlog = new Promise<void>((resolve) => (backlogPushed = resolve));
    // The relay's plan lands after the backlog in the log: the reopened device must pull
    // through all of it before it learns that the slot is planned.
    const conversations = recordConversations(model, { holdFirst: () => backlog });
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, relay);
    const title = 'Evening review';
    const mission = await createMissionDueSoon(page, {
      title,
      objective: 'Propose one small task',
      dueInMs: 8_000,
      everyMs: hour,
      runOn: 'any',
    });
    const slot = slotKey(title, mission.slotMs);
    await expect.poll(() => relayRowIds(relay, 'missions')).toContain(mission.missionId);
    await page.close();
    expect(Date.now(), 'every tab closed before the slot was due').toBeLessThan(mission.slotMs);

    await pushTasksFromAnotherDevice(relay, 2_000);
    backlogPushed();
    await expect
      .poll(async () => (await iterationsOf(relay, mission.missionId)).length, { timeout: 30_000 })
      .toBe(1);
    const [planned] = await iterationsOf(relay, mission.missionId);
    expect(planned).toMatchObject({ status: 'planned', runner: { kind: 'relay' } });
    const log = await relayChanges(relay);
    const lastBacklog = log.findLastIndex((change) => change.deviceId === 'dev_laptop');
    const plan = log.findIndex((change) => change.rowId === mission.iterationId);
    expect(plan, 'the plan is behind the backlog in the relay log').toBeGreaterThan(lastBacklog);

    // Reopen once the relay's claim has run out: only the plan itself now says "planned".
    const relayStarted = conversations.opened[0]!.at;
    await wait(Math.max(0, relayStarted + claimTtlMs + 1_000 - Date.now()));
    const again = await context.newPage();
    await again.goto(`${relay.url}/tasks`);
    await expect(again.getByRole('heading', { name: /^Open/ })).toHaveText('Open (2000)', {
      timeout: 45_000,
    });
    await expectCaughtUp(again, relay, 30_000);
    // The leader ticks only after its first pull; three ticks is two full intervals after it.
    await expect
      .poll(async () => (await debugState(again))['ticks'], { timeout: 4 * deviceTickMs })
      .toBeGreaterThanOrEqual(3);
    await again.goto(`${relay.url}/inbox`);
    await expect(proposalCard(again, 'Review open tasks')).toHaveCount(1);

    console.log(
      `[handoff-edges a] conversations per slot: ${JSON.stringify(conversations.perSlot())}`,
    );
    expect(conversations.count(slot)).toBe(1);
    expect(conversations.opened).toHaveLength(1);
    expect(await iterationsOf(relay, mission.missionId)).toHaveLength(1);
    await context.close();
  });
});

test.describe('a planning device goes away mid-plan', () => {
  // The claim lease is long (300 s): only the relay's release after the grace frees it sooner.
  test.use({
    relayEnv: {
      CLAIM_TTL_MS: '300000',
      CLAIM_RELEASE_GRACE_MS: String(releaseGraceMs),
      TICK_INTERVAL_MS: String(relayTickMs),
    },
  });

  test('reloading the only tab mid-plan: the worker lives on and finishes its run, one conversation', async ({
    browser,
    relay,
    model,
  }) => {
    test.setTimeout(90_000);
    const conversations = recordConversations(model, { holdFirst: () => wait(8_000) });
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, relay);
    const before = await debugState(page);
    expect(before['leader']).toBe(true);
    const title = 'Reload mid-plan';
    const { mission, slot } = await deviceMidPlan(page, conversations, title);

    await page.reload();
    // Pages start the SharedWorker with `extendedLifetime`: the reloaded page reaches the same
    // worker, whose run goes on. (Without it Chromium ends the worker with its last page; a new
    // worker is a new host, refused while the old lease lives, and its run a second
    // conversation.)
    const after = await debugState(page);
    expect(after['hostId'], 'the reloaded page reached the same worker').toBe(before['hostId']);

    await expect
      .poll(async () => (await iterationsOf(relay, mission.missionId)).length, {
        timeout: 3 * deviceTickMs + 20_000,
      })
      .toBe(1);
    const [planned] = await iterationsOf(relay, mission.missionId);
    expect(planned).toMatchObject({ status: 'planned', runner: { kind: 'device' } });
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await expect(proposalCard(page, 'Review open tasks')).toHaveCount(1);
    // More ticks of the device and the relay, past the release grace: nothing plans it again.
    await wait(deviceTickMs + relayTickMs + releaseGraceMs);

    console.log(
      `[handoff-edges b] conversations per slot: ${JSON.stringify(conversations.perSlot())}`,
    );
    expect(conversations.count(slot)).toBe(1);
    expect(conversations.opened).toHaveLength(1);
    expect(await iterationsOf(relay, mission.missionId)).toHaveLength(1);
    await context.close();
  });

  test('closing the browser mid-plan: the relay plans the slot once, right after the grace', async ({
    browser,
    relay,
    model,
  }) => {
    test.setTimeout(90_000);
    const conversations = recordConversations(model, { holdFirst: () => wait(8_000) });
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, relay);
    const title = 'Closed mid-plan';
    const { mission, slot } = await deviceMidPlan(page, conversations, title);

    const closedAt = Date.now();
    await context.close();
    await expect
      .poll(() => conversations.count(slot), { timeout: releaseGraceMs + relayTickMs + 15_000 })
      .toBe(2);
    const relayStartMs = conversations.opened[1]!.at - closedAt;
    await expect
      .poll(async () => (await iterationsOf(relay, mission.missionId)).length, { timeout: 20_000 })
      .toBe(1);
    const [planned] = await iterationsOf(relay, mission.missionId);
    expect(planned).toMatchObject({ status: 'planned', runner: { kind: 'relay' } });
    // A few more relay ticks: the slot is not planned again.
    await wait(3 * relayTickMs);

    console.log(
      `[handoff-edges c] conversations per slot: ${JSON.stringify(conversations.perSlot())}; ` +
        `relay's conversation ${relayStartMs} ms after the browser closed`,
    );
    // One conversation cut off with the browser, one by the relay; the relay's starts once the
    // grace has passed (the device's lease held until then) and within a tick and a margin of
    // it, long before the 300 s lease would have run out.
    expect(conversations.count(slot)).toBe(2);
    expect(conversations.opened).toHaveLength(2);
    expect(relayStartMs).toBeGreaterThanOrEqual(releaseGraceMs);
    expect(relayStartMs).toBeLessThan(releaseGraceMs + relayTickMs + 5_000);
    expect(await iterationsOf(relay, mission.missionId)).toHaveLength(1);
  });
});
