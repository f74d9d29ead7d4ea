import { createEngine, type MissionDraft, type WebhookState } from '@baton/engine';
import { createFixedClock, createMemoryStore, createSequentialIds } from '@baton/engine/testing';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LiveSocket } from '../live/live-hub.ts';
import { createLogger } from '../logger.ts';
import { createOpenAiModel } from '@baton/engine/openai';
import { createRelayRunner, type RelayRunner } from '../runner/relay-runner.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { bobToken, createTestRelay, type TestRelay } from '../testing/test-relay.ts';
import { createWebhookServer, type WebhookServer } from '../testing/webhook-server.ts';
import { createNotifier, type Notifier } from './notifier.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const hour = 3_600_000;
const appUrl = 'http://baton.example:8787';

describeOnEachDatabase('notification webhook', (kind) => {
  let model: ModelServer;
  let hook: WebhookServer;
  let relay: TestRelay;
  let notifier: Notifier;
  let runner: RelayRunner;
  beforeAll(async () => {
    model = await createModelServer();
    hook = await createWebhookServer();
  });
  afterAll(async () => {
    await model.close();
    await hook.close();
  });
  beforeEach(async () => {
    hook.received.length = 0;
    hook.answerWith([]);
    relay = await createTestRelay({ kind });
    relay.now.value = start;
    // Retries a millisecond apart: what is tested is how many attempts, not how long they wait.
    notifier = createNotifier({
      db: relay.db,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
      retryDelaysMs: [1, 1],
    });
    runner = createRelayRunner({
      db: relay.db,
      store: relay.store,
      live: relay.live,
      model: createOpenAiModel({
        endpoint: { baseUrl: model.url, apiKey: 'k', defaultModel: 'scripted-model' },
        timeoutMs: 10_000,
      }),
      instanceId: 'relay_1',
      graceMs: 10 * 60_000,
      concurrency: 2,
      metrics: relay.metrics,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
      notifier,
    });
  });
  afterEach(async () => {
    await runner.close();
    await notifier.close();
    await relay.close();
  });

  async function setWebhook(
    format: 'json' | 'ntfy' | 'slack' | 'discord' = 'json',
  ): Promise<Response> {
    return relay.call('/v1/me/webhook', { method: 'PUT', body: { url: hook.url, format, appUrl } });
  }

  /** A device creates a mission and pushes it, as the webapp would. */
  async function deviceCreatesMission(draft: Partial<MissionDraft> = {}): Promise<string> {
    const store = createMemoryStore();
    const device = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds('D1'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const missionId = await device.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Keep my week on track',
        schedule: { kind: 'interval', everyMs: hour, anchor: start },
        tools: { list_tasks: 'auto', create_task: 'propose' },
        ...draft,
      },
      actor: { kind: 'user', deviceId: 'dev_a' },
    });
    const response = await relay.call('/v1/sync/push', {
      body: { deviceId: 'dev_a', changes: store.recorded },
    });
    expect(response.status).toBe(200);
    return missionId;
  }

  async function state(token?: string): Promise<WebhookState> {
    const response = await relay.call('/v1/me/webhook', token ? { token } : {});
    expect(response.status).toBe(200);
    return (await response.json()) as WebhookState;
  }

  it('refuses an address that is not http(s), naming the field, and saves nothing', async () => {
    const response = await relay.call('/v1/me/webhook', {
      method: 'PUT',
      body: { url: 'file:///etc/passwd', format: 'json', appUrl },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { field: string; message: string } };
    expect(body.error.field).toBe('url');
    expect(body.error.message).toContain('must be an http:// or https:// address');
    const format = await relay.call('/v1/me/webhook', {
      method: 'PUT',
      body: { url: hook.url, format: 'teams', appUrl },
    });
    expect(format.status).toBe(400);
    expect((await state()).webhook).toBeNull();
  });

  it('keeps each user’s webhook to themselves, and removes it', async () => {
    expect((await setWebhook('slack')).status).toBe(200);
    expect((await state()).webhook).toEqual({ url: hook.url, format: 'slack', appUrl });
    expect((await state(bobToken)).webhook).toBeNull();
    const removed = await relay.call('/v1/me/webhook', { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await state()).webhook).toBeNull();
  });

  it('sends a test and shows its delivery; without a webhook the test says to save one', async () => {
    const none = await relay.call('/v1/me/webhook/test', { method: 'POST' });
    expect(none.status).toBe(404);
    await setWebhook();
    const response = await relay.call('/v1/me/webhook/test', { method: 'POST' });
    expect(response.status).toBe(200);
    const after = (await response.json()) as WebhookState;
    expect(after.lastDelivery).toMatchObject({ kind: 'test', ok: true, status: 200, attempts: 1 });
    expect(hook.received).toHaveLength(1);
    expect(JSON.parse(hook.received[0]!.body)).toMatchObject({
      event: 'test',
      inboxUrl: `${appUrl}/inbox`,
    });
  });

  it('notifies once of runs it planned while no device was connected, with the mission and its proposals', async () => {
    await setWebhook();
    await deviceCreatesMission();
    relay.now.value = start + hour + 1_000;
    const report = await runner.tick();
    expect(report.planned).toHaveLength(1);
    await notifier.idle();
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toMatchObject({
      event: 'proposals_waiting',
      title: '1 proposal waits in Baton',
      proposals: 1,
      missions: [{ title: 'Daily plan', proposals: 1 }],
      inboxUrl: `${appUrl}/inbox`,
    });
    expect((await state()).lastDelivery).toMatchObject({ kind: 'run', ok: true, attempts: 1 });

    await runner.tick();
    await notifier.idle();
    expect(hook.received).toHaveLength(1);
  });

  it('retries a failing webhook until it answers, and records the attempts', async () => {
    await setWebhook('discord');
    hook.answerWith([503, 500]);
    await deviceCreatesMission();
    relay.now.value = start + hour + 1_000;
    await runner.tick();
    await notifier.idle();
    expect(hook.received.map((request) => request.status)).toEqual([503, 500, 200]);
    const body = JSON.parse(hook.received[2]!.body) as { content: string };
    expect(body.content).toContain('**1 proposal waits in Baton**');
    expect(body.content).toContain(`[Open the Inbox](<${appUrl}/inbox>)`);
    expect((await state()).lastDelivery).toMatchObject({ ok: true, status: 200, attempts: 3 });
  });

  it('gives up after its attempts, or at once on a 404, and says why', async () => {
    await setWebhook();
    hook.answerWith([503, 503, 503]);
    expect(await notifier.sendTest({ userId: relay.users.alice })).toMatchObject({
      ok: false,
      status: 503,
      attempts: 3,
      error: 'the webhook answered 503 Service Unavailable',
    });
    hook.answerWith([404]);
    expect(await notifier.sendTest({ userId: relay.users.alice })).toMatchObject({
      ok: false,
      status: 404,
      attempts: 1,
    });
    expect(hook.received).toHaveLength(4);
    expect((await state()).lastDelivery).toMatchObject({ ok: false, status: 404 });
  });

  it('says nothing while a device is connected (the person sees the Inbox there)', async () => {
    await setWebhook();
    await deviceCreatesMission({ runOn: 'relay' });
    const socket: LiveSocket = {
      send: () => undefined,
      close: () => undefined,
      terminate: () => undefined,
    };
    relay.live
      .connect({ userId: relay.users.alice, socket })
      .hello({ deviceId: 'dev_a', canPlan: true });
    relay.now.value = start + hour + 1_000;
    const report = await runner.tick();
    expect(report.planned).toHaveLength(1);
    await notifier.idle();
    expect(hook.received).toHaveLength(0);
  });
});
