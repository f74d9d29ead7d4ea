import { createEngine, iterationIdOf, type Change, type MissionDraft } from '@baton/engine';
import { createFixedClock, createMemoryStore, createSequentialIds } from '@baton/engine/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LiveSocket } from '../live/live-hub.ts';
import { createLogger } from '../logger.ts';
import { createOpenAiModel } from '../model/openai-model.ts';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { createTestRelay, type TestRelay } from '../testing/test-relay.ts';
import { createRelayRunner, missionsToPlan, type RelayRunner } from './relay-runner.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const hour = 3_600_000;
const everyHour = { kind: 'interval', everyMs: hour, anchor: start } as const;

describe('missionsToPlan', () => {
  const entry = (missionId: string, runOn: string, nextSlotAt: number) => ({
    userId: 'u',
    missionId,
    runOn,
    nextSlotAt,
  });
  it('leaves runOn any to a covered user unless overdue past the grace period', () => {
    const entries = [
      entry('any', 'any', 1_000),
      entry('relay', 'relay', 1_000),
      entry('late', 'any', 0),
    ];
    expect([...missionsToPlan({ entries, covered: true, now: 1_500, graceMs: 1_000 })]).toEqual([
      'relay',
      'late',
    ]);
    expect([...missionsToPlan({ entries, covered: false, now: 1_500, graceMs: 1_000 })]).toEqual([
      'any',
      'relay',
      'late',
    ]);
  });
});

describe('relay runner', () => {
  let model: ModelServer;
  let relay: TestRelay;
  let runner: RelayRunner | undefined;
  beforeAll(async () => {
    model = await createModelServer();
  });
  afterAll(() => model.close());
  beforeEach(async () => {
    relay = await createTestRelay();
    relay.now.value = start;
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    await relay.close();
  });

  /** A device creates a mission offline and pushes it, as the webapp would. */
  async function deviceCreatesMission(draft: Partial<MissionDraft> = {}): Promise<string> {
    const store = createMemoryStore();
    const device = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds('D'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const missionId = await device.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Keep my week on track',
        schedule: everyHour,
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

  function startRunner(options: { withModel?: boolean; graceMs?: number } = {}): RelayRunner {
    runner = createRelayRunner({
      db: relay.db,
      store: relay.store,
      live: relay.live,
      model:
        options.withModel === false
          ? undefined
          : createOpenAiModel({
              baseUrl: model.url,
              apiKey: 'k',
              defaultModel: 'scripted-model',
              timeoutMs: 10_000,
            }),
      instanceId: 'relay_1',
      graceMs: options.graceMs ?? 10 * 60_000,
      concurrency: 4,
      metrics: relay.metrics,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
    });
    return runner;
  }

  async function pulled(): Promise<Change[]> {
    const response = await relay.call('/v1/sync/pull?limit=1000');
    return ((await response.json()) as { changes: Change[] }).changes;
  }

  function connectDevice(canPlan: boolean) {
    const received: unknown[] = [];
    const socket: LiveSocket = {
      send: (text) => received.push(JSON.parse(text)),
      close: () => undefined,
      terminate: () => undefined,
    };
    const session = relay.live.connect({ userId: relay.users.alice, socket });
    session.hello({ deviceId: 'dev_a', canPlan });
    return { session, received };
  }

  it('plans a due slot once when no device is connected, and the device pulls it', async () => {
    const missionId = await deviceCreatesMission();
    const planner = startRunner();
    relay.now.value = start + hour + 1_000;
    const before = model.callCount();
    const report = await planner.tick();
    const iterationId = iterationIdOf(missionId, start + hour);
    expect(report.planned).toEqual([iterationId]);
    expect(model.callCount() - before).toBe(3);

    const changes = await pulled();
    const iteration = changes.find(
      (change) => change.table === 'iterations' && change.rowId === iterationId,
    );
    expect(iteration?.fields).toMatchObject({
      status: 'planned',
      runner: { kind: 'relay', instanceId: 'relay_1' },
    });
    expect(
      changes.some((change) => change.table === 'proposals' && change.rowId === `${iterationId}#0`),
    ).toBe(true);

    const again = await planner.tick();
    expect(again.planned).toEqual([]);
    expect(model.callCount() - before).toBe(3);
    const metrics = await relay.metrics.registry.metrics();
    expect(metrics).toContain('baton_model_calls_total{outcome="ok"} 3');
    expect(metrics).toContain('baton_model_call_duration_seconds_count 3');
    expect(metrics).toContain('baton_ticks_total 2');
    expect(metrics).toContain('baton_plans_total{outcome="planned"} 1');
    expect(metrics).toContain('baton_claims_total{result="granted"} 1');
    expect(metrics).toContain('baton_push_requests_total 1');
    expect(metrics).toMatch(/baton_pushed_changes_total\{result="accepted"\} 1/);
  });

  it('leaves the slot to a connected device that can plan, and takes it once the device leaves', async () => {
    const missionId = await deviceCreatesMission();
    const planner = startRunner();
    relay.now.value = start + hour + 1_000;
    const device = connectDevice(true);
    const before = model.callCount();
    expect((await planner.tick()).planned).toEqual([]);
    expect(model.callCount()).toBe(before);

    device.session.end();
    expect((await planner.tick()).planned).toEqual([iterationIdOf(missionId, start + hour)]);
  });

  it('plans for a covered user when the mission runs on the relay or the slot is overdue', async () => {
    const relayMission = await deviceCreatesMission({ runOn: 'relay', title: 'Relay only' });
    const planner = startRunner({ graceMs: 60_000 });
    connectDevice(true);
    relay.now.value = start + hour + 1_000;
    expect((await planner.tick()).planned).toEqual([iterationIdOf(relayMission, start + hour)]);
  });

  it('plans an overdue slot even when a device is connected (a frozen tab must not starve it)', async () => {
    const missionId = await deviceCreatesMission();
    const planner = startRunner({ graceMs: 60_000 });
    connectDevice(true);
    relay.now.value = start + hour + 2 * 60_000;
    expect((await planner.tick()).planned).toEqual([iterationIdOf(missionId, start + hour)]);
  });

  it('never plans runOn device missions', async () => {
    await deviceCreatesMission({ runOn: 'device' });
    const planner = startRunner();
    relay.now.value = start + hour + 1_000;
    const before = model.callCount();
    expect((await planner.tick()).planned).toEqual([]);
    expect(model.callCount()).toBe(before);
  });

  it('does not plan without a model, so devices can still plan those slots', async () => {
    await deviceCreatesMission();
    const planner = startRunner({ withModel: false });
    relay.now.value = start + hour + 1_000;
    expect(await planner.tick()).toMatchObject({ planned: [], failed: [] });
    expect((await pulled()).some((change) => change.table === 'iterations')).toBe(false);
  });

  it('pokes live connections when it writes an iteration', async () => {
    await deviceCreatesMission();
    const planner = startRunner({ graceMs: 0 });
    const device = connectDevice(false);
    relay.now.value = start + hour + 1_000;
    await planner.tick();
    expect(device.received.some((message) => (message as { type: string }).type === 'poke')).toBe(
      true,
    );
  });

  it('leaves a slot claimed by a device alone', async () => {
    const missionId = await deviceCreatesMission();
    const iterationId = iterationIdOf(missionId, start + hour);
    relay.now.value = start + hour + 1_000;
    const claimed = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a', ttlMs: 60_000 },
    });
    expect(claimed.status).toBe(200);
    const planner = startRunner();
    const report = await planner.tick();
    expect(report.claimedElsewhere).toEqual([iterationId]);
    expect(report.planned).toEqual([]);
  });
});
