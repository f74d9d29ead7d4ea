import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import type { Runner } from '../model/iteration.ts';
import type { Claims, LanguageModel } from '../ports.ts';
import { iterationIdOf, slotsBetween } from '../schedule/slots.ts';
import { createFixedClock, type FixedClock } from '../testing/fixed-clock.ts';
import { createMemoryClaims } from '../testing/memory-claims.ts';
import { createLink, createReplica, type Replica } from '../testing/replicas.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { decidedStep } from '../model/proposal.ts';
import { tableNames } from '../model/tables.ts';

const minute = 60_000;
const hour = 60 * minute;
const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };
const schedule = { kind: 'interval', everyMs: hour, anchor: start } as const;

/** A model that proposes `steps` new tasks named after its runner, then answers. */
function stepsModel(name: string, steps: number): LanguageModel {
  return createScriptedModel((request) =>
    request.messages.length > 2 || steps === 0
      ? { content: `${name} proposes ${steps} step(s).` }
      : {
          content: `Ideas from the ${name}.`,
          toolCalls: Array.from({ length: steps }, (_, index) => ({
            name: 'create_task',
            arguments: { title: `${name} step ${index}` },
          })),
        },
  );
}

/** A device or relay replica; change ids start with D or R. */
function makeSide(options: {
  runner: Runner;
  clock: FixedClock;
  model: LanguageModel;
  claims: Claims | undefined;
}): Replica {
  return createReplica({ ...options, idPrefix: options.runner.kind === 'device' ? 'D' : 'R' });
}

/**
 * A relay whose model answers (two steps) only after the device planned the same slot (one
 * unclaimed tick) and that plan was synced in: the relay's plan lands second.
 */
async function relayPlansWhileDeviceSyncsIn(options: {
  clock: FixedClock;
  device: Replica;
}): Promise<Replica> {
  const { clock, device } = options;
  let answer: () => void = () => undefined;
  let called: () => void = () => undefined;
  const modelCalled = new Promise<void>((resolve) => (called = resolve));
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const relayModel = stepsModel('relay', 2);
  const slow: LanguageModel = {
    defaultModel: 'slow',
    async complete(request, options) {
      called();
      await answered;
      return relayModel.complete(request, options);
    },
  };
  const slowRelay = makeSide({
    runner: { kind: 'relay', instanceId: 'relay_1' },
    clock,
    model: slow,
    claims: undefined,
  });
  await slowRelay.engine.applyRemote(device.store.recorded);
  clock.set(start + minute);
  const relayTick = slowRelay.engine.tick();
  await modelCalled;
  await device.engine.tick();
  await slowRelay.engine.applyRemote(device.store.recorded);
  answer();
  await relayTick;
  return slowRelay;
}

async function scenario(options: {
  deviceSteps: number;
  relaySteps: number;
  deviceOnline: boolean;
  catchUp: 'latest' | 'all';
  /** `auto`: each runner executes its steps in the batch that writes its plan. */
  policy?: 'propose' | 'auto';
}) {
  const clock = createFixedClock(start - minute);
  const claims = createMemoryClaims({ clock });
  const device = makeSide({
    runner: { kind: 'device', deviceId: 'dev_a' },
    clock,
    model: stepsModel('device', options.deviceSteps),
    claims: options.deviceOnline ? claims : undefined,
  });
  const relay = makeSide({
    runner: { kind: 'relay', instanceId: 'relay_1' },
    clock,
    model: stepsModel('relay', options.relaySteps),
    claims,
  });
  const missionId = await device.engine.createMission({
    draft: {
      title: 'Daily plan',
      objective: 'Plan the day',
      schedule,
      catchUp: { mode: options.catchUp, maxLateMs: 6 * hour },
      tools: { create_task: options.policy ?? 'propose' },
    },
    actor: person,
  });
  const toRelay = createLink(device, relay);
  const toDevice = createLink(relay, device);
  await toRelay.deliver();
  return { clock, device, relay, missionId, toRelay, toDevice };
}

type Scenario = Awaited<ReturnType<typeof scenario>>;

async function fullSync({ toRelay, toDevice }: Scenario) {
  while (toRelay.pending() > 0 || toDevice.pending() > 0) {
    await toRelay.deliver();
    await toDevice.deliver();
  }
}

/**
 * Both replicas hold the same rows, one iteration per slot; each proposal id shows the winning
 * plan's step while undecided, and a decided one keeps what was decided, its data matching the
 * decision every replica kept: an executed create_task left its task (with the edited title, if
 * any), a rejected or otherwise undone one left none.
 */
async function expectConverged(world: Scenario, slots: number[]) {
  const { device, relay, missionId } = world;
  for (const table of tableNames)
    expect(await relay.store.list(table), table).toEqual(await device.store.list(table));
  const iterations = await device.engine.rows('iterations');
  expect(iterations.map((iteration) => iteration.id).sort()).toEqual(
    slots.map((slot) => iterationIdOf(missionId, slot)).sort(),
  );
  const proposals = await device.engine.rows('proposals');
  const tasks = new Map((await device.engine.rows('tasks')).map((task) => [task.id, task]));
  for (const iteration of iterations) {
    const own = proposals
      .filter((proposal) => proposal.iterationId === iteration.id)
      .sort((a, b) => a.stepIndex - b.stepIndex);
    const steps = iteration.status === 'planned' ? iteration.plan!.steps : [];
    const undecided = own.filter((proposal) => proposal.decision === null);
    for (const proposal of undecided) {
      const step = steps[proposal.stepIndex];
      if (step) {
        expect(proposal.status).toBe('pending');
        expect(proposal.params).toEqual(step.params);
      } else expect(proposal.status).toBe('superseded');
    }
    expect(own.map((proposal) => proposal.stepIndex)).toEqual(
      expect.arrayContaining(steps.map((_, index) => index)),
    );
    for (const proposal of own) {
      const task = tasks.get(`${proposal.id}/tasks`);
      if (proposal.status === 'executed') {
        const step = decidedStep(proposal);
        const title = proposal.decision!.editedParams?.title ?? step.params.title;
        expect(task?.title, proposal.id).toBe(title);
      } else expect(task, proposal.id).toBeUndefined();
    }
  }
}

type Command =
  | { kind: 'tickDevice' }
  | { kind: 'tickRelay' }
  | { kind: 'syncToRelay'; limit: number }
  | { kind: 'syncToDevice'; limit: number }
  | { kind: 'advance'; minutes: number }
  | {
      kind: 'decide';
      side: 'device' | 'relay';
      pick: number;
      verdict: 'approved' | 'rejected';
      edit: boolean;
    };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Command>({ kind: 'tickDevice' }) },
  { weight: 3, arbitrary: fc.constant<Command>({ kind: 'tickRelay' }) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 1, max: 6 })
      .map((limit): Command => ({ kind: 'syncToRelay', limit })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 1, max: 6 })
      .map((limit): Command => ({ kind: 'syncToDevice', limit })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 10, max: 80 })
      .map((minutes): Command => ({ kind: 'advance', minutes })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        side: fc.constantFrom<'device' | 'relay'>('device', 'relay'),
        pick: fc.nat(10),
        verdict: fc.constantFrom<'approved' | 'rejected'>('approved', 'rejected'),
        edit: fc.boolean(),
      })
      .map((decide): Command => ({ kind: 'decide', ...decide })),
  },
);

/** The person decides one of the pending proposals on that side, if there is one. */
async function decideOne(world: Scenario, command: Extract<Command, { kind: 'decide' }>) {
  const side = command.side === 'device' ? world.device : world.relay;
  const pending = (await side.engine.rows('proposals')).filter(
    (proposal) => proposal.status === 'pending',
  );
  const proposal = pending[command.pick % Math.max(1, pending.length)];
  if (!proposal) return;
  await side.engine.decide({
    proposalId: proposal.id,
    verdict: command.verdict,
    ...(command.verdict === 'approved' && command.edit
      ? { editedParams: { title: `edited on ${command.side} ${command.pick}` } }
      : {}),
    actor: { kind: 'user', deviceId: side.engine.nodeId },
  });
}

describe('two runners, one mission', () => {
  it('end with one iteration per slot, the same rows on both, no duplicate proposals, and data that matches every decision', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          deviceSteps: fc.integer({ min: 0, max: 3 }),
          relaySteps: fc.integer({ min: 0, max: 3 }),
          // Mostly offline: that is when both runners plan one slot and the merge must decide.
          deviceOnline: fc.oneof(
            { weight: 1, arbitrary: fc.constant(true) },
            { weight: 3, arbitrary: fc.constant(false) },
          ),
          catchUp: fc.constantFrom<'latest' | 'all'>('latest', 'all'),
          policy: fc.constantFrom<'propose' | 'auto'>('propose', 'propose', 'auto'),
        }),
        fc.array(commandArbitrary, { minLength: 6, maxLength: 30 }),
        async (setup, commands) => {
          const world = await scenario(setup);
          const { clock, device, relay, toRelay, toDevice } = world;
          for (const command of commands) {
            if (command.kind === 'tickDevice') await device.engine.tick();
            else if (command.kind === 'tickRelay') await relay.engine.tick();
            else if (command.kind === 'syncToRelay') await toRelay.deliver(command.limit);
            else if (command.kind === 'syncToDevice') await toDevice.deliver(command.limit);
            else if (command.kind === 'decide') await decideOne(world, command);
            else clock.advance(command.minutes * minute);
          }
          await fullSync(world);
          // Close the books: whatever is due now gets planned once, wherever.
          await device.engine.tick();
          await fullSync(world);
          await relay.engine.tick();
          await fullSync(world);
          const [mission] = await device.engine.rows('missions');
          await expectConverged(
            world,
            slotsBetween(schedule, mission!.createdAt, clock.now(), 100),
          );
        },
      ),
      { numRuns: 1000 },
    );
  }, 120_000);

  it('keeps the earlier plan when an offline device and the relay both plan a slot', async () => {
    const world = await scenario({
      deviceSteps: 1,
      relaySteps: 3,
      deviceOnline: false,
      catchUp: 'latest',
    });
    const { clock, device, relay, missionId } = world;
    clock.set(start + minute);
    await device.engine.tick();
    clock.advance(1_000);
    await relay.engine.tick();
    await fullSync(world);
    await expectConverged(world, [start]);
    const iterationId = iterationIdOf(missionId, start);
    const [iteration] = await relay.engine.rows('iterations');
    expect(iteration).toMatchObject({
      id: iterationId,
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const statuses = (await relay.engine.rows('proposals')).map((proposal) => [
      proposal.stepIndex,
      proposal.status,
      proposal.params.title,
    ]);
    expect(statuses).toEqual([
      [0, 'pending', 'device step 0'],
      [1, 'superseded', 'relay step 1'],
      [2, 'superseded', 'relay step 2'],
    ]);
  });

  it('does not plan a slot the other runner holds a claim on', async () => {
    const world = await scenario({
      deviceSteps: 1,
      relaySteps: 2,
      deviceOnline: true,
      catchUp: 'latest',
    });
    const { clock, device, relay, missionId } = world;
    clock.set(start + minute);
    const relayReport = await relay.engine.tick();
    const deviceReport = await device.engine.tick();
    expect(relayReport.planned).toEqual([iterationIdOf(missionId, start)]);
    expect(deviceReport.claimedElsewhere).toEqual([iterationIdOf(missionId, start)]);
    await fullSync(world);
    await expectConverged(world, [start]);
  });

  it('supersedes its own extra steps when the other plan arrived while the model was answering', async () => {
    const world = await scenario({
      deviceSteps: 1,
      relaySteps: 0,
      deviceOnline: false,
      catchUp: 'latest',
    });
    const { clock, device, missionId } = world;
    const slowRelay = await relayPlansWhileDeviceSyncsIn({ clock, device });
    const proposals = await slowRelay.engine.rows('proposals');
    expect(proposals.map((proposal) => [proposal.params.title, proposal.status])).toEqual([
      ['device step 0', 'pending'],
      ['relay step 1', 'superseded'],
    ]);
    expect((await slowRelay.engine.rows('iterations'))[0]).toMatchObject({
      id: iterationIdOf(missionId, start),
      runner: { kind: 'device' },
    });
  });

  it('does not execute an auto step that the plan synced in while the model answered already executed', async () => {
    const world = await scenario({
      deviceSteps: 1,
      relaySteps: 0,
      deviceOnline: false,
      catchUp: 'latest',
      policy: 'auto',
    });
    const { clock, device } = world;
    const slowRelay = await relayPlansWhileDeviceSyncsIn({ clock, device });
    const tasks = await slowRelay.engine.rows('tasks');
    // The device's step #0 was executed first: its task stands, and the relay's #0 never ran.
    expect(tasks.map((task) => [task.id.split('#')[1], task.title])).toEqual([
      ['0/tasks', 'device step 0'],
      ['1/tasks', 'relay step 1'],
    ]);
    expect(tasks[0]!.updatedBy).toMatchObject({ kind: 'ai' });
    expect(slowRelay.store.recorded.filter((change) => change.table === 'tasks')).toHaveLength(1);
  });

  it('does not supersede proposals that arrive before their iteration', async () => {
    const world = await scenario({
      deviceSteps: 2,
      relaySteps: 0,
      deviceOnline: false,
      catchUp: 'latest',
    });
    const { clock, device, relay } = world;
    clock.set(start + minute);
    await device.engine.tick();
    const sent = world.toRelay.pending();
    const batch = device.store.recorded.slice(-sent);
    // Proposals first, then the iteration (a page boundary or an out-of-order transport).
    const proposals = batch.filter((change) => change.table === 'proposals');
    const rest = batch.filter((change) => change.table !== 'proposals');
    await relay.engine.applyRemote(proposals);
    await relay.engine.applyRemote(rest);
    expect((await relay.engine.rows('proposals')).map((proposal) => proposal.status)).toEqual([
      'pending',
      'pending',
    ]);
    expect(relay.store.recorded).toEqual([]);
  });
});
