import { createEngine, iterationIdOf, type Change, type MissionDraft } from '@baton/engine';
import { createFixedClock, createMemoryStore, createSequentialIds } from '@baton/engine/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LiveSocket } from '../live/live-hub.ts';
import { createLogger } from '../logger.ts';
import { createOpenAiModel } from '@baton/engine/openai';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { loggedChanges } from '../testing/logged-changes.ts';
import {
  createModelServer,
  defaultModelScript,
  type ModelServer,
} from '../testing/model-server.ts';
import { bobToken, createTestRelay, type TestRelay } from '../testing/test-relay.ts';
import { missionsToPlan } from '@baton/engine';
import { createRelayRunner, type RelayRunner } from './relay-runner.ts';

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

describeOnEachDatabase('relay runner', (kind) => {
  let model: ModelServer;
  let relay: TestRelay;
  let runner: RelayRunner | undefined;
  const others: RelayRunner[] = [];
  beforeAll(async () => {
    model = await createModelServer();
  });
  afterAll(() => model.close());
  beforeEach(async () => {
    relay = await createTestRelay({ kind });
    relay.now.value = start;
  });
  afterEach(async () => {
    model.setDelay(0);
    await runner?.close();
    runner = undefined;
    await Promise.all(others.splice(0).map((other) => other.close()));
    await relay.close();
  });

  let missionCount = 0;
  /** A device creates a mission offline and pushes it, as the webapp would (Alice's unless given). */
  async function deviceCreatesMission(
    draft: Partial<MissionDraft> = {},
    as: { token?: string; deviceId?: string } = {},
  ): Promise<string> {
    const deviceId = as.deviceId ?? 'dev_a';
    const store = createMemoryStore();
    const device = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds(`D${(missionCount += 1)}`),
      nodeId: deviceId,
      runner: { kind: 'device', deviceId },
    });
    const missionId = await device.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Keep my week on track',
        schedule: everyHour,
        tools: { list_tasks: 'auto', create_task: 'propose' },
        ...draft,
      },
      actor: { kind: 'user', deviceId },
    });
    const response = await relay.call('/v1/sync/push', {
      body: { deviceId, changes: store.recorded },
      ...(as.token ? { token: as.token } : {}),
    });
    expect(response.status).toBe(200);
    return missionId;
  }

  /** How many times each iteration's plan was written to the log (1 each: planned once). */
  async function planWrites(): Promise<Map<string, number>> {
    const writes = new Map<string, number>();
    for (const change of await loggedChanges(relay.db))
      if (change.table_name === 'iterations' && change.body.fields.plan !== undefined)
        writes.set(change.row_id, (writes.get(change.row_id) ?? 0) + 1);
    return writes;
  }

  function createRunner(
    options: {
      withModel?: boolean;
      graceMs?: number;
      instanceId?: string;
      concurrency?: number;
      batchSize?: number;
    } = {},
  ): RelayRunner {
    return createRelayRunner({
      db: relay.db,
      store: relay.store,
      live: relay.live,
      model:
        options.withModel === false
          ? undefined
          : createOpenAiModel({
              endpoint: {
                baseUrl: model.url,
                apiKey: 'k',
                defaultModel: 'scripted-model',
              },
              timeoutMs: 10_000,
            }),
      instanceId: options.instanceId ?? 'relay_1',
      graceMs: options.graceMs ?? 10 * 60_000,
      concurrency: options.concurrency ?? 4,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      metrics: relay.metrics,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
    });
  }

  function startRunner(options: { withModel?: boolean; graceMs?: number } = {}): RelayRunner {
    runner = createRunner(options);
    return runner;
  }

  async function pulled(): Promise<Change[]> {
    const response = await relay.call('/v1/sync/pull?limit=1000');
    return ((await response.json()) as { changes: Change[] }).changes;
  }

  function connectDevice(canPlan: boolean, userId = relay.users.alice) {
    const received: unknown[] = [];
    const socket: LiveSocket = {
      send: (text) => received.push(JSON.parse(text)),
      close: () => undefined,
      terminate: () => undefined,
    };
    const session = relay.live.connect({ userId, socket });
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

  it('plans a slot again a minute after its model answered 503, under the same iteration id', async () => {
    const missionId = await deviceCreatesMission();
    const planner = startRunner();
    const iterationId = iterationIdOf(missionId, start + hour);
    relay.now.value = start + hour + 1_000;
    model.setScript(() => ({ status: 503, error: 'overloaded' }));
    expect((await planner.tick()).failed).toEqual([iterationId]);
    model.setScript(undefined);
    relay.now.value = start + hour + 1_000 + 60_000 - 1;
    expect((await planner.tick()).planned).toEqual([]);
    relay.now.value = start + hour + 1_000 + 60_000;
    expect((await planner.tick()).planned).toEqual([iterationId]);
    const iteration = (await pulled())
      .filter((change) => change.table === 'iterations' && change.rowId === iterationId)
      .map((change) => change.fields);
    expect(iteration).toMatchObject([
      { status: 'failed', attempts: 1, error: { code: 'unavailable' } },
      { status: 'planned', attempts: 2 },
    ]);
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

  it("covers only the device's own user: Bob's slot is planned while Alice's device is online", async () => {
    const alices = await deviceCreatesMission({ title: "Alice's plan" });
    const bobs = await deviceCreatesMission(
      { title: "Bob's plan" },
      { token: bobToken, deviceId: 'dev_b' },
    );
    connectDevice(true, relay.users.alice);
    const planner = startRunner();
    relay.now.value = start + hour + 1_000;
    const report = await planner.tick();
    expect(report.planned).toEqual([iterationIdOf(bobs, start + hour)]);
    expect(report.planned).not.toContain(iterationIdOf(alices, start + hour));
  });

  it('never plans a slot twice when two live processes share one instance id', async () => {
    const missions = await Promise.all(
      Array.from({ length: 5 }, (_, index) => deviceCreatesMission({ title: `Twin ${index}` })),
    );
    const first = createRunner();
    const twin = createRunner();
    others.push(first, twin);
    expect(first.holder).not.toBe(twin.holder);
    model.setDelay(100); // both ticks are busy at the same time
    relay.now.value = start + hour + 1_000;
    const before = model.callCount();
    const reports = await Promise.all([first.tick(), twin.tick()]);
    const planned = reports.flatMap((report) => report.planned);
    expect(planned.sort()).toEqual(missions.map((id) => iterationIdOf(id, start + hour)).sort());
    expect(model.callCount() - before).toBe(5 * 3); // three calls per plan with the default script
    expect([...(await planWrites()).values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('takes more due work as missions finish, while a slow one still waits on the model', async () => {
    const missions = await Promise.all(
      Array.from({ length: 7 }, (_, index) => deviceCreatesMission({ title: `Mission ${index}` })),
    );
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The tick's first model call hangs until released: its mission is in the first batch.
    const first = model.callCount();
    model.setScript(async (body, callIndex, context) => {
      if (callIndex === first) await released;
      return defaultModelScript(body, callIndex, context);
    });
    try {
      // One batch of 4 in flight at most, more taken once 2 of them are done.
      const planner = createRunner({ concurrency: 4, batchSize: 4 });
      others.push(planner);
      relay.now.value = start + hour + 1_000;
      const ticked = planner.tick();
      const deadline = Date.now() + 8_000;
      while ((await planWrites()).size < 6 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      // The other six were planned, three of them taken after the first batch, before the
      // slow one answered.
      expect((await planWrites()).size).toBe(6);
      release();
      const report = await ticked;
      expect(report.planned.sort()).toEqual(
        missions.map((id) => iterationIdOf(id, start + hour)).sort(),
      );
    } finally {
      release();
      model.setScript(undefined);
    }
  });

  it('shares due work with another instance batch by batch, each slot planned once', async () => {
    const missions = await Promise.all(
      Array.from({ length: 6 }, (_, index) => deviceCreatesMission({ title: `Shared ${index}` })),
    );
    const first = createRunner({ instanceId: 'relay_1', concurrency: 2, batchSize: 2 });
    const second = createRunner({ instanceId: 'relay_2', concurrency: 2, batchSize: 2 });
    others.push(first, second);
    model.setDelay(50);
    relay.now.value = start + hour + 1_000;
    const before = model.callCount();
    const [byFirst, bySecond] = await Promise.all([first.tick(), second.tick()]);
    expect(byFirst.planned.length).toBeGreaterThan(0);
    expect(bySecond.planned.length).toBeGreaterThan(0);
    expect([...byFirst.planned, ...bySecond.planned].sort()).toEqual(
      missions.map((id) => iterationIdOf(id, start + hour)).sort(),
    );
    expect(model.callCount() - before).toBe(6 * 3);
    const writes = await planWrites();
    expect(writes.size).toBe(6);
    expect([...writes.values()].every((count) => count === 1)).toBe(true);
  });
});
