import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { EngineErrorKind } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { MissionDraft } from '../model/mission.ts';
import type { Runner } from '../model/iteration.ts';
import type { Claims, LanguageModel } from '../ports.ts';
import { nextRetryAt } from '../schedule/retry.ts';
import { iterationIdOf } from '../schedule/slots.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryClaims } from '../testing/memory-claims.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import { createLink, createReplica, syncUntilQuiet } from '../testing/replicas.ts';
import {
  createScriptedModel,
  replySequence,
  type ScriptedModel,
} from '../testing/scripted-model.ts';

const hour = 3_600_000;
const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };
const hourly = { kind: 'interval', everyMs: hour, anchor: start } as const;

function setup(
  options: {
    model?: ScriptedModel;
    runner?: Runner;
    claims?: Claims;
  } = {},
) {
  const store = createMemoryStore();
  const clock = createFixedClock(start - 60_000);
  const model =
    options.model ??
    createScriptedModel(
      replySequence([
        {
          content: 'One task.',
          toolCalls: [{ name: 'create_task', arguments: { title: 'Stretch' } }],
        },
      ]),
    );
  const runner = options.runner ?? { kind: 'device', deviceId: 'dev_a' };
  const nodeId = runner.kind === 'device' ? runner.deviceId : runner.instanceId;
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds(),
    model: model as LanguageModel,
    nodeId,
    runner,
    ...(options.claims ? { claims: options.claims } : {}),
  });
  const createMission = (draft: Partial<MissionDraft> = {}) =>
    engine.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Plan',
        schedule: hourly,
        tools: { create_task: 'propose' },
        ...draft,
      },
      actor: person,
    });
  return { store, clock, model, engine, createMission };
}

describe('budget', () => {
  it('pauses a mission with a visible reason when it reached its runs per day, instead of running', async () => {
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({
      budget: { maxRunsPerDay: 2, maxTokensPerDay: 1_000_000 },
    });
    for (let slot = 0; slot < 2; slot += 1) {
      clock.set(start + slot * hour + 1_000);
      expect((await engine.tick()).planned).toHaveLength(1);
    }
    clock.set(start + 2 * hour + 1_000);
    const report = await engine.tick();
    expect(report.planned).toEqual([]);
    expect(report.paused).toEqual([
      { missionId, reason: expect.stringMatching(/2 runs in the last 24 hours/) },
    ]);
    expect(model.requests).toHaveLength(2);
    const [mission] = await engine.rows('missions');
    expect(mission).toMatchObject({
      state: 'paused',
      pausedReason: '2 runs in the last 24 hours reached the budget of 2 runs per day.',
    });
    expect(mission!.updatedBy).toEqual({ kind: 'system', source: 'budget' });
    // Paused missions are not ticked; resuming clears the reason.
    clock.set(start + 3 * hour + 1_000);
    expect((await engine.tick()).paused).toEqual([]);
    await engine.updateMission({ id: missionId, patch: { state: 'active' }, actor: person });
    expect((await engine.rows('missions'))[0]).toMatchObject({
      state: 'active',
      pausedReason: null,
    });
  });

  it('pauses a mission before a run that would pass its tokens per day, instead of running it', async () => {
    // The scripted model reports 100 prompt + 20 completion tokens per call.
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({ budget: { maxRunsPerDay: 100, maxTokensPerDay: 250 } });
    for (const slot of [0, 1, 2]) {
      clock.set(start + slot * hour + 1_000);
      await engine.tick();
    }
    // Two runs used 240 tokens; a third would take about 120 more and pass 250.
    expect(model.requests).toHaveLength(2);
    const [mission] = await engine.rows('missions');
    expect(mission).toMatchObject({
      id: missionId,
      state: 'paused',
      pausedReason:
        '240 tokens used in the last 24 hours, and a run takes about 120: the next run would pass the budget of 250 tokens per day.',
    });
    expect(mission!.updatedBy).toEqual({ kind: 'system', source: 'budget' });
    // A day later the window has rolled over; resumed, the mission runs from its next slot.
    clock.set(start + 25 * hour + 30 * 60_000);
    await engine.updateMission({ id: missionId, patch: { state: 'active' }, actor: person });
    clock.set(start + 26 * hour + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    expect(model.requests).toHaveLength(3);
  });

  it('stops a run before a round the claims owner says would pass the budget: written as failed with what it spent, and the mission paused', async () => {
    const claimsClock = createFixedClock(start + 1_000);
    const memory = createMemoryClaims({ clock: claimsClock });
    const reason =
      "960 tokens used in the last 24 hours, this run's rounds so far included, and another round takes about 120: it would pass the budget of 1000 tokens per day.";
    // The relay grants the run, then refuses its second round: other runs of the mission
    // (on other devices) took the rest of the budget meanwhile.
    const claims: Claims = {
      ...memory,
      async claim(request) {
        if (!memory.leases.has(request.iterationId)) return memory.claim(request);
        return { granted: false, holder: '', expiresAt: 0, refusal: 'budget', reason };
      },
    };
    const { engine, clock, model, createMission } = setup({
      claims,
      model: createScriptedModel((_request, callIndex) =>
        callIndex === 0
          ? { toolCalls: [{ name: 'list_tasks', arguments: {} }] }
          : {
              content: 'One task.',
              toolCalls: [{ name: 'create_task', arguments: { title: 'X' } }],
            },
      ),
    });
    const missionId = await createMission({
      tools: { list_tasks: 'auto', create_task: 'propose' },
      budget: { maxRunsPerDay: 10, maxTokensPerDay: 1_000 },
    });
    const iterationId = iterationIdOf(missionId, start);
    clock.set(start + 1_000);
    const report = await engine.tick();
    expect(report).toMatchObject({
      planned: [],
      failed: [{ iterationId, message: `Stopped before another model round: ${reason}` }],
      paused: [{ missionId, reason }],
    });
    // One model call, no second: the round the budget had no room for was never made.
    expect(model.requests).toHaveLength(1);
    const [iteration] = await engine.rows('iterations');
    expect(iteration).toMatchObject({
      id: iterationId,
      status: 'failed',
      plan: null,
      error: { code: 'budget', message: `Stopped before another model round: ${reason}` },
      usage: { promptTokens: 100, completionTokens: 20, rounds: 1 },
    });
    expect(await engine.rows('proposals')).toEqual([]);
    expect((await engine.rows('missions'))[0]).toMatchObject({
      state: 'paused',
      pausedReason: reason,
    });
    // A budget stop is no failure to retry.
    const [mission] = await engine.rows('missions');
    expect(nextRetryAt({ iteration: iteration!, catchUp: mission!.catchUp })).toBeUndefined();
  });

  it('expects the last run’s cost when no run happened today', async () => {
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({ budget: { maxRunsPerDay: 100, maxTokensPerDay: 130 } });
    clock.set(start + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    // Two days later nothing counts against today, but the last run took 120 tokens: it fits.
    clock.set(start + 48 * hour + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    // An hour later 120 are used, and another 120 would pass 130.
    clock.set(start + 49 * hour + 1_000);
    expect((await engine.tick()).paused).toEqual([{ missionId, reason: expect.any(String) }]);
    expect(model.requests).toHaveLength(2);
  });

  it('counts iteration rows it cannot read against the budget', async () => {
    const { engine, clock, store, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({
      budget: { maxRunsPerDay: 100, maxTokensPerDay: 1_000 },
    });
    // Synced from a newer version: an unknown status, but its usage is plain to see.
    await store.transaction((writer) =>
      writer.put([
        {
          table: 'iterations',
          id: `${missionId}@2026-11-25T06:30:00.000Z`,
          fields: {
            missionId,
            status: 'thinking',
            plannedAt: engine.hlc.tick(clock.now()),
            usage: { promptTokens: 900, completionTokens: 50, model: 'x', latencyMs: 1, rounds: 1 },
          },
          stamps: {},
        },
      ]),
    );
    clock.set(start + 1_000);
    const report = await engine.tick();
    expect(report.paused).toEqual([
      {
        missionId,
        reason:
          '950 tokens used in the last 24 hours, and a run takes about 950: the next run would pass the budget of 1000 tokens per day.',
      },
    ]);
    expect(model.requests).toHaveLength(0);
  });

  it('counts the budget and tells the model "now" as of the time tick is given, not the clock', async () => {
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({
      budget: { maxRunsPerDay: 2, maxTokensPerDay: 1_000_000 },
    });
    clock.set(start + 1_000);
    await engine.tick();
    // The host's clock has moved on a day, but this tick is for 07:00 + 1 h.
    clock.set(start + 30 * hour);
    const now = start + hour + 2_000;
    expect((await engine.tick({ now })).planned).toEqual([iterationIdOf(missionId, start + hour)]);
    const prompt = JSON.stringify(model.requests.at(-1)!.messages);
    expect(prompt).toContain(`Now: ${new Date(now).toISOString()}`);
    // Two runs within the day before `now`: the next slot is refused, though the clock's day is empty.
    const report = await engine.tick({ now: start + 2 * hour + 2_000 });
    expect(report.paused).toEqual([
      { missionId, reason: '2 runs in the last 24 hours reached the budget of 2 runs per day.' },
    ]);
  });
});

describe('run now and dry run', () => {
  it('refuse a mission that is done or archived, and run a paused one', async () => {
    const { engine, store, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({ schedule: { kind: 'manual' } });
    for (const state of ['done', 'archived'] as const) {
      await engine.updateMission({ id: missionId, patch: { state }, actor: person });
      const recorded = store.recorded.length;
      await expect(engine.runNow({ missionId })).rejects.toMatchObject({
        kind: 'conflict',
        message: `"Daily plan" is ${state}: set it to active or paused to run it.`,
      });
      await expect(engine.dryRun({ missionId })).rejects.toMatchObject({ kind: 'conflict' });
      expect(store.recorded).toHaveLength(recorded);
    }
    expect(model.requests).toHaveLength(0);
    await engine.updateMission({ id: missionId, patch: { state: 'paused' }, actor: person });
    const { report } = await engine.runNow({ missionId });
    expect(report.planned).toHaveLength(1);
    expect((await engine.dryRun({ missionId })).status).toBe('planned');
  });

  it('refuse with the reason when the budget would be passed, writing nothing', async () => {
    const { engine, store, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({
      schedule: { kind: 'manual' },
      budget: { maxRunsPerDay: 1, maxTokensPerDay: 1_000_000 },
    });
    await engine.runNow({ missionId });
    clock.advance(1_000);
    const recorded = store.recorded.length;
    const refusal = {
      kind: 'budget',
      message: 'Not run: 1 runs in the last 24 hours reached the budget of 1 runs per day.',
    };
    await expect(engine.runNow({ missionId })).rejects.toMatchObject(refusal);
    await expect(engine.dryRun({ missionId })).rejects.toMatchObject(refusal);
    expect(store.recorded).toHaveLength(recorded);
    expect(model.requests).toHaveLength(1);
    expect((await engine.rows('missions'))[0]!.state).toBe('active');
  });

  it('plan where the person pressed it, whatever runOn says', async () => {
    const { engine, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission({ schedule: { kind: 'manual' }, runOn: 'relay' });
    expect((await engine.runNow({ missionId })).report.planned).toHaveLength(1);
  });
});

describe('tick', () => {
  it('goes on with other missions when the model fails for one or a mission row is invalid', async () => {
    const model = createScriptedModel((request) => {
      const prompt = JSON.stringify(request.messages);
      if (prompt.includes('Broken mission')) return { error: 'the model refused' };
      return { content: 'Fine.' };
    });
    const { engine, clock, store, createMission } = setup({ model });
    const broken = await createMission({ title: 'Broken mission' });
    const healthy = await createMission({ title: 'Healthy mission' });
    // A row synced from a newer version that this engine cannot read.
    await store.transaction((writer) =>
      writer.put([
        {
          table: 'missions',
          id: 'm_from_the_future',
          fields: { title: 'Future', state: 'active', schedule: { kind: 'quantum' } },
          stamps: {},
        },
      ]),
    );
    clock.set(start + 1_000);
    const report = await engine.tick();
    expect(report.planned).toEqual([iterationIdOf(healthy, start)]);
    expect(report.failed).toEqual([
      { iterationId: iterationIdOf(broken, start), message: 'the model refused' },
    ]);
    expect(report.errors).toEqual([
      {
        missionId: 'm_from_the_future',
        message: expect.stringMatching(/^missions\/m_from_the_future: /),
      },
    ]);
    const failed = (await engine.rows('iterations')).find((row) => row.missionId === broken);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'model', message: 'the model refused' },
    });
  });

  it('goes on with other missions when one throws while it is ticked', async () => {
    const { engine, clock, store, createMission } = setup();
    const first = await createMission({ title: 'First' });
    const second = await createMission({ title: 'Second' });
    const get = store.get.bind(store);
    const getMany = store.getMany.bind(store);
    const fails = (table: string, id: string) => table === 'missions' && id === first;
    store.get = async (table, id) => {
      if (fails(table, id)) throw new Error('disk on fire');
      return get(table, id);
    };
    store.getMany = async (keys) => {
      if (keys.some((key) => fails(key.table, key.id))) throw new Error('disk on fire');
      return getMany(keys);
    };
    clock.set(start + 1_000);
    const report = await engine.tick();
    expect(report.errors).toEqual([{ missionId: first, message: 'disk on fire' }]);
    expect(report.planned).toContain(iterationIdOf(second, start));
  });

  it("tells the model a mission's earlier runs from the one read of its iterations the budget counted on", async () => {
    const { engine, clock, store, model, createMission } = setup();
    await createMission();
    clock.set(start + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    const list = store.list.bind(store);
    let iterationLists = 0;
    store.list = async (table, filter) => {
      if (table === 'iterations') iterationLists += 1;
      return list(table, filter);
    };
    clock.set(start + hour + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    const prompt = (
      model.requests.find((request) =>
        JSON.stringify(request).includes(`for the slot ${new Date(start + hour).toISOString()}`),
      )?.messages ?? []
    )
      .map((message) => message.content)
      .join('\n');
    expect(prompt).toContain(`- ${new Date(start).toISOString()}: planned`);
    expect(prompt).toMatch(/create_task {"title":"Stretch".*} → pending/);
    expect(iterationLists).toBe(1);
  });

  it('tells the host of each mission as it is done, not when the slowest of the tick is', async () => {
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const inner = createScriptedModel(() => ({ content: 'Nothing to do.' }));
    const model: LanguageModel = {
      defaultModel: inner.defaultModel,
      async complete(request, options) {
        if (JSON.stringify(request).includes('Slow one')) await released;
        return inner.complete(request, options);
      },
    };
    const { engine, clock, createMission } = setup({ model: model as ScriptedModel });
    const slow = await createMission({ title: 'Slow one' });
    const fast = await createMission({ title: 'Fast one' });
    const elsewhere = await createMission({ title: 'On the relay', runOn: 'relay' });
    clock.set(start + 1_000);
    const done: string[] = [];
    let fastDone = () => undefined as void;
    const fastIsDone = new Promise<void>((resolve) => (fastDone = resolve));
    const ticked = engine.tick({
      missionIds: new Set([slow, fast, elsewhere, 'm_missing']),
      concurrency: 4,
      onMissionDone: (missionId) => {
        done.push(missionId);
        if (missionId === fast) fastDone();
      },
    });
    await fastIsDone;
    // The slow one still waits on the model; the rest are done, those not run here at once.
    expect(done).toEqual([elsewhere, 'm_missing', fast]);
    release();
    const report = await ticked;
    expect(done).toEqual([elsewhere, 'm_missing', fast, slow]);
    expect(report.planned).toEqual([iterationIdOf(fast, start), iterationIdOf(slow, start)]);
  });

  it('respects runOn: a device ignores relay missions and the relay ignores device missions', async () => {
    const device = setup();
    const relay = setup({ runner: { kind: 'relay', instanceId: 'relay_1' } });
    for (const side of [device, relay]) {
      await side.createMission({ title: 'Any', runOn: 'any' });
      await side.createMission({ title: 'Device only', runOn: 'device' });
      await side.createMission({ title: 'Relay only', runOn: 'relay' });
      side.clock.set(start + 1_000);
      await side.engine.tick();
    }
    const titlesPlanned = async (side: ReturnType<typeof setup>) => {
      const missions = await side.engine.rows('missions');
      const planned = new Set((await side.engine.rows('iterations')).map((row) => row.missionId));
      return missions
        .filter((mission) => planned.has(mission.id))
        .map((mission) => mission.title)
        .sort();
    };
    expect(await titlesPlanned(device)).toEqual(['Any', 'Device only']);
    expect(await titlesPlanned(relay)).toEqual(['Any', 'Relay only']);
  });

  it('says why when the relay refuses the claim for this runner’s clock, planning nothing', async () => {
    const claims = createMemoryClaims({ clock: createFixedClock(start + 1_000) });
    const { engine, model, clock, createMission } = setup({ claims });
    const missionId = await createMission();
    // This device's clock runs 39 minutes ahead of the relay's.
    clock.set(start + 1_000 + 39 * 60_000);
    const report = await engine.tick();
    expect(report).toMatchObject({ planned: [], claimedElsewhere: [] });
    expect(report.errors).toEqual([
      {
        missionId,
        message:
          "Not planned: this runner's clock is 39 minutes ahead of the relay's, which accepts 10 at most; check its date and time.",
      },
    ]);
    expect(model.requests).toHaveLength(0);
  });

  it('does not plan a slot whose claim another runner holds, and reports it', async () => {
    const clock = createFixedClock(start + 1_000);
    const claims = createMemoryClaims({ clock });
    const { engine, model, clock: engineClock, createMission } = setup({ claims });
    const missionId = await createMission();
    const iterationId = iterationIdOf(missionId, start);
    await claims.claim({ iterationId, holder: 'relay_1', ttlMs: 60_000 });
    engineClock.set(start + 1_000);
    const report = await engine.tick();
    expect(report).toMatchObject({ planned: [], claimedElsewhere: [iterationId] });
    expect(model.requests).toHaveLength(0);
    expect(await engine.rows('iterations')).toEqual([]);
    // Once the lease expired, this runner takes the slot over.
    clock.set(start + 2 * 60_000);
    engineClock.set(start + 2 * 60_000);
    expect((await engine.tick()).planned).toEqual([iterationId]);
    expect(claims.leases.get(iterationId)?.holder).toBe('dev_a');
  });

  it('renews its claim between rounds, and stops without writing once the slot passed to another runner', async () => {
    const claimsClock = createFixedClock(start + 1_000);
    const claims = createMemoryClaims({ clock: claimsClock });
    const readFirst = (callIndex: number) => {
      // Each round takes three minutes of a five-minute lease.
      claimsClock.set(start + 1_000 + (callIndex + 1) * 3 * 60_000);
      return callIndex < 2
        ? { toolCalls: [{ name: 'list_tasks', arguments: {} }] }
        : { content: 'Nothing to add today.' };
    };
    const renewing = setup({
      claims,
      model: createScriptedModel((_request, callIndex) => readFirst(callIndex)),
    });
    const missionId = await renewing.createMission({
      tools: { list_tasks: 'auto', create_task: 'propose' },
    });
    const iterationId = iterationIdOf(missionId, start);
    renewing.clock.set(start + 1_000);
    // Nine minutes of planning on five-minute leases: the renewals keep the slot ours.
    expect((await renewing.engine.tick()).planned).toEqual([iterationId]);
    // Renewed before the third round (at 6 min), so the lease runs to 11 min, not 5.
    // Three rounds, three claims granted (the budget compares them with the rounds recorded).
    expect(claims.leases.get(iterationId)).toEqual({
      holder: 'dev_a',
      expiresAt: start + 1_000 + 11 * 60_000,
      grants: 3,
      grantedAt: start + 1_000 + 6 * 60_000,
    });

    // Now a runner whose lease lapses mid-run (no renewal could save it: another took the slot).
    const otherClaims = createMemoryClaims({ clock: claimsClock });
    claimsClock.set(start + 1_000);
    const losing = setup({
      claims: otherClaims,
      model: createScriptedModel((_request, callIndex) => {
        if (callIndex === 0) {
          claimsClock.set(start + 1_000 + 6 * 60_000);
          void otherClaims.claim({ iterationId: lostId, holder: 'relay_1', ttlMs: 60_000 });
        }
        return callIndex === 0
          ? { toolCalls: [{ name: 'list_tasks', arguments: {} }] }
          : {
              content: 'Too late.',
              toolCalls: [{ name: 'create_task', arguments: { title: 'X' } }],
            };
      }),
    });
    const lostMission = await losing.createMission({
      tools: { list_tasks: 'auto', create_task: 'propose' },
    });
    const lostId = iterationIdOf(lostMission, start);
    losing.clock.set(start + 1_000);
    const report = await losing.engine.tick();
    expect(report).toMatchObject({ planned: [], claimedElsewhere: [lostId] });
    expect(losing.model.requests).toHaveLength(1);
    expect(await losing.engine.rows('iterations')).toEqual([]);
    expect(otherClaims.leases.get(lostId)?.holder).toBe('relay_1');
  });

  it('claims again before its first model call when it froze after the claim, and stops once the slot passed to another runner', async () => {
    const claimsClock = createFixedClock(start + 1_000);
    const claims = createMemoryClaims({ clock: claimsClock });
    let frozen = false;
    const freezing: Claims = {
      ...claims,
      async claim(request) {
        const result = await claims.claim(request);
        if (!frozen) {
          // The host freezes for six minutes right after its claim (a background tab, a closed
          // lid); its five-minute lease runs out and the relay takes the slot meanwhile.
          frozen = true;
          claimsClock.set(start + 1_000 + 6 * 60_000);
          frozenHost.clock.set(start + 1_000 + 6 * 60_000);
          await claims.claim({ iterationId, holder: 'relay_1', ttlMs: 5 * 60_000 });
        }
        return result;
      },
    };
    const frozenHost = setup({ claims: freezing });
    const missionId = await frozenHost.createMission();
    const iterationId = iterationIdOf(missionId, start);
    frozenHost.clock.set(start + 1_000);
    const report = await frozenHost.engine.tick();
    expect(report).toMatchObject({ planned: [], claimedElsewhere: [iterationId] });
    expect(frozenHost.model.requests).toHaveLength(0);
    expect(await frozenHost.engine.rows('iterations')).toEqual([]);

    // A host that did not freeze calls the model on its claim at once: one claim per round.
    const steadyClaims = createMemoryClaims({ clock: claimsClock });
    const steady = setup({ claims: steadyClaims });
    const steadyMission = await steady.createMission();
    const steadyId = iterationIdOf(steadyMission, start);
    steady.clock.set(start + 1_000);
    expect((await steady.engine.tick()).planned).toEqual([steadyId]);
    expect(steady.model.requests.length).toBeGreaterThan(0);
    expect(steadyClaims.leases.get(steadyId)?.grants).toBe(steady.model.requests.length);
  });

  it('records missed slots as skipped without calling the model', async () => {
    const { engine, clock, model, createMission } = setup();
    const missionId = await createMission();
    clock.set(start + 3 * hour + 1_000);
    const report = await engine.tick();
    expect(report.planned).toEqual([iterationIdOf(missionId, start + 3 * hour)]);
    expect(report.skipped).toHaveLength(3);
    expect(model.requests.length).toBeGreaterThan(0);
    const statuses = (await engine.rows('iterations')).map((row) => row.status).sort();
    expect(statuses).toEqual(['planned', 'skipped', 'skipped', 'skipped']);
  });

  it('executes auto steps in the batch that writes the plan, attributed to the AI', async () => {
    const { engine, clock, store, createMission } = setup();
    const missionId = await createMission({ tools: { create_task: 'auto' } });
    clock.set(start + 1_000);
    const before = store.recorded.length;
    await engine.tick();
    const iterationId = iterationIdOf(missionId, start);
    const [proposal] = await engine.rows('proposals');
    expect(proposal).toMatchObject({
      id: `${iterationId}#0`,
      status: 'executed',
      decision: { verdict: 'approved', by: { kind: 'system', source: 'device' } },
      result: { table: 'tasks' },
    });
    const [task] = await engine.rows('tasks');
    expect(task).toMatchObject({
      title: 'Stretch',
      createdBy: { kind: 'ai', missionId, iterationId, proposalId: proposal!.id },
    });
    const batch = store.recorded.slice(before);
    expect(batch.map((change) => change.table).sort()).toEqual([
      'iterations',
      'proposals',
      'tasks',
    ]);
    expect(new Set(batch.map((change) => change.hlc)).size).toBe(1);
  });

  it('lets a later auto step see what an earlier one did to the same row', async () => {
    const { engine, clock, store, createMission } = setup({
      model: createScriptedModel((request) => {
        const prompt = request.messages[1]!.content ?? '';
        const taskId = /"id":"(task_[a-z0-9]+)"/.exec(prompt)?.[1];
        return request.messages.length > 2
          ? { content: 'Done.' }
          : {
              toolCalls: [
                { name: 'update_task', arguments: { taskId, title: 'Zebra' } },
                { name: 'update_task', arguments: { taskId, title: 'Apple' } },
                { name: 'complete_task', arguments: { taskId } },
                { name: 'complete_task', arguments: { taskId } },
              ],
            };
      }),
    });
    const taskId = await engine.saveRow({
      table: 'tasks',
      fields: { title: 'Original' },
      actor: person,
    });
    const missionId = await createMission({
      inputs: [{ table: 'tasks', where: 'open' }],
      tools: { update_task: 'auto', complete_task: 'auto' },
    });
    clock.set(start + 1_000);
    await engine.tick();
    const proposals = await engine.rows('proposals');
    expect(proposals.map((proposal) => proposal.status)).toEqual([
      'executed',
      'executed',
      'executed',
      'stale',
    ]);
    expect((await engine.rows('tasks'))[0]).toMatchObject({
      id: taskId,
      title: 'Apple',
      done: true,
    });
    // Another replica gets the same row from the recorded batch.
    const other = setup({ runner: { kind: 'device', deviceId: 'dev_b' } });
    await other.engine.applyRemote(store.recorded);
    expect(await other.store.list('tasks')).toEqual(await store.list('tasks'));
    // And reverting puts the original back.
    await engine.revertIteration({ iterationId: iterationIdOf(missionId, start), actor: person });
    expect((await engine.rows('tasks'))[0]).toMatchObject({ title: 'Original', done: false });
  });

  it('dryRun plans without staging or recording anything', async () => {
    const { engine, store, model, createMission } = setup();
    const missionId = await createMission({ schedule: { kind: 'manual' } });
    const recorded = store.recorded.length;
    const result = await engine.dryRun({ missionId });
    expect(result).toMatchObject({ status: 'planned', plan: { steps: [{ tool: 'create_task' }] } });
    expect(model.requests.length).toBeGreaterThan(0);
    expect(await store.list('iterations')).toEqual([]);
    expect(await store.list('proposals')).toEqual([]);
    expect(await store.list('tasks')).toEqual([]);
    expect(store.recorded).toHaveLength(recorded);
  });
});

describe('editing a schedule', () => {
  const day = 24 * hour;
  const daily = { kind: 'interval', everyMs: day, anchor: start } as const;

  it('starts the slots after the edit: a 30-day-old daily mission made hourly records and plans nothing before it', async () => {
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    clock.set(start - 30 * day);
    const missionId = await createMission({ schedule: daily });
    const edit = start + 3 * hour + 20 * 60_000;
    clock.set(edit);
    await engine.updateMission({ id: missionId, patch: { schedule: hourly }, actor: person });
    expect(await engine.tick()).toMatchObject({ planned: [], skipped: [], failed: [] });
    clock.set(start + 4 * hour - 1);
    expect(await engine.tick()).toMatchObject({ planned: [], skipped: [], failed: [] });
    expect(model.requests).toHaveLength(0);
    clock.set(start + 4 * hour + 1_000);
    const report = await engine.tick();
    expect(report).toMatchObject({
      planned: [iterationIdOf(missionId, start + 4 * hour)],
      skipped: [],
    });
    expect(model.requests).toHaveLength(1);
    expect((await engine.rows('iterations')).map((row) => row.id)).toEqual([
      iterationIdOf(missionId, start + 4 * hour),
    ]);
  });

  it('keeps the missed slots of a mission whose edit left its schedule as it was', async () => {
    const { engine, clock, createMission } = setup();
    const missionId = await createMission();
    clock.set(start + 2 * hour + 30 * 60_000);
    // The edit form sends the whole mission: an unchanged schedule is not an edit of it.
    await engine.updateMission({
      id: missionId,
      patch: { title: 'Renamed', objective: 'Plan', schedule: { ...hourly }, state: 'active' },
      actor: person,
    });
    const report = await engine.tick();
    expect(report.planned).toEqual([iterationIdOf(missionId, start + 2 * hour)]);
    expect(report.skipped).toEqual([
      iterationIdOf(missionId, start),
      iterationIdOf(missionId, start + hour),
    ]);
  });

  it('resumes a paused mission at its next slot, without catching up the slots it was paused for', async () => {
    const { engine, clock, model, createMission } = setup({
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const missionId = await createMission();
    clock.set(start + 30 * 60_000);
    await engine.updateMission({ id: missionId, patch: { state: 'paused' }, actor: person });
    clock.set(start + 5 * hour + 10 * 60_000);
    await engine.updateMission({ id: missionId, patch: { state: 'active' }, actor: person });
    expect(await engine.tick()).toMatchObject({ planned: [], skipped: [] });
    clock.set(start + 6 * hour + 1_000);
    expect((await engine.tick()).planned).toEqual([iterationIdOf(missionId, start + 6 * hour)]);
    expect(model.requests).toHaveLength(1);
  });
});

describe('retrying a failed slot', () => {
  const minute = 60_000;
  /** Fails the first `failures` calls as `kind` (transient: `unavailable`), then answers. */
  const outage = (failures: number, kind: EngineErrorKind = 'unavailable') =>
    createScriptedModel((_request, callIndex) =>
      callIndex < failures
        ? { error: 'the model is overloaded', errorKind: kind }
        : { content: 'Nothing today.' },
    );

  it('plans the slot again after a transient failure, under the same iteration id, after a backoff', async () => {
    const { engine, clock, model, createMission } = setup({ model: outage(1) });
    const missionId = await createMission();
    const iterationId = iterationIdOf(missionId, start);
    clock.set(start + 1_000);
    expect((await engine.tick()).failed).toEqual([
      { iterationId, message: 'the model is overloaded' },
    ]);
    expect(await engine.rows('iterations')).toMatchObject([
      { id: iterationId, status: 'failed', attempts: 1, error: { code: 'unavailable' } },
    ]);
    clock.set(start + 1_000 + minute - 1);
    expect(await engine.tick()).toMatchObject({ planned: [], failed: [], skipped: [] });
    expect(model.requests).toHaveLength(1);
    clock.set(start + 1_000 + minute);
    expect((await engine.tick()).planned).toEqual([iterationId]);
    expect(model.requests).toHaveLength(2);
    expect(await engine.rows('iterations')).toMatchObject([
      { id: iterationId, status: 'planned', attempts: 2, error: null },
    ]);
  });

  it('does not retry a permanent failure: no model, a refused request, an unusable answer', async () => {
    const unusable = Object.assign(
      createScriptedModel(() => ({ content: '' })),
      {
        complete: async () => ({ nothing: 'useful' }) as never,
      },
    );
    const models = {
      no_model: createScriptedModel(() => ({ content: 'never called' }), ''),
      model: outage(1, 'model'),
      bad_answer: unusable,
    };
    for (const [code, model] of Object.entries(models)) {
      const { engine, clock, createMission } = setup({ model });
      await createMission();
      clock.set(start + 1_000);
      expect((await engine.tick()).failed).toHaveLength(1);
      clock.set(start + 30 * minute);
      expect(await engine.tick()).toMatchObject({ planned: [], failed: [] });
      expect(await engine.rows('iterations')).toMatchObject([
        { status: 'failed', attempts: 1, error: { code } },
      ]);
    }
  });

  it('does not retry a slot past its lateness window', async () => {
    const { engine, clock, model, createMission } = setup({ model: outage(1) });
    await createMission({ catchUp: { mode: 'latest', maxLateMs: 10 * minute } });
    clock.set(start + 1_000);
    expect((await engine.tick()).failed).toHaveLength(1);
    clock.set(start + 10 * minute + 1);
    expect(await engine.tick()).toMatchObject({ planned: [], failed: [], skipped: [] });
    expect(model.requests).toHaveLength(1);
    expect(await engine.rows('iterations')).toMatchObject([{ status: 'failed', attempts: 1 }]);
  });

  it('gives up after five attempts, backing off between them', async () => {
    const { engine, clock, model, createMission } = setup({ model: outage(100) });
    await createMission();
    const calls: number[] = [];
    for (let at = start + 1_000; at < start + hour; at += 30_000) {
      clock.set(at);
      const before = model.requests.length;
      await engine.tick();
      if (model.requests.length > before) calls.push((at - start - 1_000) / minute);
    }
    // 1, 2, 4 and 8 minutes after each failure (a tick every 30 s).
    expect(calls).toEqual([0, 1, 3, 7, 15]);
    expect(await engine.rows('iterations')).toMatchObject([{ status: 'failed', attempts: 5 }]);
  });

  it('retries another runner’s failure once it syncs in, and every replica keeps the retry', async () => {
    const clock = createFixedClock(start - minute);
    const relay = createReplica({
      runner: { kind: 'relay', instanceId: 'relay_1' },
      clock,
      idPrefix: 'R',
      model: outage(1),
    });
    const device = createReplica({
      runner: { kind: 'device', deviceId: 'dev_a' },
      clock,
      idPrefix: 'D',
      model: createScriptedModel(() => ({ content: 'Nothing today.' })),
    });
    const links = { there: createLink(relay, device), back: createLink(device, relay) };
    const missionId = await relay.engine.createMission({
      draft: { title: 'Daily plan', objective: 'Plan', schedule: hourly },
      actor: person,
    });
    clock.set(start + 1_000);
    expect((await relay.engine.tick()).failed).toHaveLength(1);
    await syncUntilQuiet(links);
    clock.set(start + 1_000 + minute);
    expect((await device.engine.tick()).planned).toEqual([iterationIdOf(missionId, start)]);
    await syncUntilQuiet(links);
    for (const replica of [relay, device])
      expect(await replica.engine.rows('iterations')).toMatchObject([
        { status: 'planned', attempts: 2, runner: { kind: 'device' } },
      ]);
  });

  it('plans a failed slot again when the person asks, a permanent failure included, as its next attempt', async () => {
    const { engine, clock, model, createMission } = setup({ model: outage(1, 'model') });
    const missionId = await createMission();
    const iterationId = iterationIdOf(missionId, start);
    clock.set(start + 1_000);
    expect((await engine.tick()).failed).toHaveLength(1);
    // The automatic rule leaves a refused request alone.
    clock.set(start + 30 * minute);
    expect(await engine.tick()).toMatchObject({ planned: [], failed: [] });
    expect(model.requests).toHaveLength(1);
    const { report } = await engine.retryIteration({ iterationId });
    expect(report.planned).toEqual([iterationId]);
    expect(model.requests).toHaveLength(2);
    expect(await engine.rows('iterations')).toMatchObject([
      { id: iterationId, status: 'planned', attempts: 2, error: null, trigger: 'schedule' },
    ]);
    // A planned run is not retried.
    await expect(engine.retryIteration({ iterationId })).rejects.toMatchObject({
      kind: 'conflict',
    });
    expect(model.requests).toHaveLength(2);
  });

  it('retries a failed run with one claim, which the claim rule grants because it is a retry', async () => {
    const clock = createFixedClock(start - minute);
    const claims = createMemoryClaims({ clock });
    const asked: Array<boolean | undefined> = [];
    const { engine, model, createMission } = setup({
      model: outage(1, 'model'),
      claims: {
        claim: (request) => {
          asked.push(request.retry);
          return claims.claim(request);
        },
        release: (request) => claims.release(request),
      },
    });
    const missionId = await createMission();
    const runNow = await engine.runNow({ missionId });
    expect(runNow.report.failed).toHaveLength(1);
    const { report } = await engine.retryIteration({ iterationId: runNow.iterationId });
    expect(report.planned).toEqual([runNow.iterationId]);
    expect(asked).toEqual([undefined, true]);
    expect(model.requests).toHaveLength(2);
    expect(await engine.rows('iterations')).toMatchObject([
      { status: 'planned', attempts: 2, trigger: 'manual' },
    ]);
  });

  it('records the rounds it made without a claim from the relay, across its attempts (found by the simulator, seed 821449)', async () => {
    const claimsClock = createFixedClock(start + 1_000);
    const owner = createMemoryClaims({ clock: claimsClock });
    // The relay's claims, as relay-claims.ts answers them: out of reach, granted unclaimed.
    let reachable = false;
    const claims: Claims = {
      claim: async (request) =>
        reachable
          ? owner.claim(request)
          : {
              granted: true,
              holder: request.holder,
              expiresAt: claimsClock.now() + request.ttlMs,
              unclaimed: true,
            },
      release: (request) => owner.release(request),
    };
    const { engine, clock, model, createMission } = setup({
      claims,
      model: createScriptedModel((_request, callIndex) => {
        // The relay goes out of reach again after the retry's first round.
        if (callIndex === 1) reachable = false;
        if (callIndex === 0) return { error: 'the model is overloaded', errorKind: 'unavailable' };
        return callIndex === 1
          ? { toolCalls: [{ name: 'list_tasks', arguments: {} }] }
          : { content: 'Nothing to add today.' };
      }),
    });
    const missionId = await createMission({ tools: { list_tasks: 'auto' } });
    const iterationId = iterationIdOf(missionId, start);
    // Cut off from the relay, the first attempt makes one round without a claim and fails.
    clock.set(start + 1_000);
    expect((await engine.tick()).failed).toHaveLength(1);
    expect(await engine.rows('iterations')).toMatchObject([
      { status: 'failed', usage: { rounds: 1, unclaimedRounds: 1 } },
    ]);
    // The retry's first round is claimed; its second is made while the relay is out of reach.
    reachable = true;
    clock.set(start + 1_000 + minute);
    expect((await engine.tick()).planned).toEqual([iterationId]);
    expect(model.requests).toHaveLength(3);
    expect(await engine.rows('iterations')).toMatchObject([
      { status: 'planned', attempts: 2, usage: { rounds: 3, unclaimedRounds: 2 } },
    ]);
    // The relay granted one round of the three: the one the row does not say was unclaimed.
    expect(owner.leases.get(iterationId)?.grants).toBe(1);
  });

  it('writes no unclaimed rounds when the relay granted each round', async () => {
    const claimsClock = createFixedClock(start + 1_000);
    const { engine, clock, createMission } = setup({
      claims: createMemoryClaims({ clock: claimsClock }),
    });
    await createMission();
    clock.set(start + 1_000);
    expect((await engine.tick()).planned).toHaveLength(1);
    const [row] = await engine.rows('iterations');
    expect(row?.usage).toMatchObject({ rounds: 2 });
    expect(row?.usage).not.toHaveProperty('unclaimedRounds');
  });

  it('retries within the budget the failed attempt already counted', async () => {
    const { engine, clock, model, createMission } = setup({ model: outage(1) });
    await createMission({ budget: { maxRunsPerDay: 1, maxTokensPerDay: 1_000_000 } });
    clock.set(start + 1_000);
    await engine.tick();
    clock.set(start + 2 * minute);
    const report = await engine.tick();
    expect(report).toMatchObject({ paused: [], planned: [expect.any(String)] });
    expect(model.requests).toHaveLength(2);
  });
});

describe('shutting down mid-plan', () => {
  it('writes nothing and releases the claim when the signal is aborted during planning', async () => {
    const store = createMemoryStore();
    const clock = createFixedClock(Date.UTC(2026, 0, 1));
    const claims = createMemoryClaims({ clock });
    const controller = new AbortController();
    const model: LanguageModel = {
      defaultModel: 'm',
      async complete() {
        controller.abort();
        throw new Error('aborted');
      },
    };
    const engine = createEngine({
      store,
      clock,
      ids: createSequentialIds(),
      model,
      claims,
      nodeId: 'relay_1',
      runner: { kind: 'relay', instanceId: 'relay_1' },
    });
    const missionId = await engine.createMission({
      draft: { title: 't', objective: 'o', schedule: { kind: 'manual' } },
      actor: { kind: 'user', deviceId: 'dev_a' },
    });
    const { iterationId } = await engine.runNow({ missionId, signal: controller.signal });
    expect(await engine.rows('iterations')).toEqual([]);
    const again = await claims.claim({ iterationId, holder: 'dev_a', ttlMs: 60_000 });
    expect(again.granted).toBe(true);
  });

  it('calls no model when it was stopped while waiting for its claim (found by the simulator, seed 810713)', async () => {
    const controller = new AbortController();
    const memory = createMemoryClaims({ clock: createFixedClock(start + 1_000) });
    // The host is stopped (demoted: another took the lead) while the claim is on its way.
    const claims: Claims = {
      ...memory,
      async claim(request) {
        const answer = await memory.claim(request);
        controller.abort();
        return answer;
      },
    };
    const { engine, clock, model, createMission } = setup({ claims });
    const missionId = await createMission();
    clock.set(start + 1_000);
    const report = await engine.tick({ signal: controller.signal });
    expect(report.planned).toEqual([]);
    expect(model.requests).toHaveLength(0);
    expect(await engine.rows('iterations')).toEqual([]);
    // The slot is given back at once: the new leader plans it without waiting for the lease.
    const iterationId = iterationIdOf(missionId, start);
    expect(await memory.claim({ iterationId, holder: 'dev_a.h2', ttlMs: 60_000 })).toMatchObject({
      granted: true,
    });
  });
});
