import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import { domainTables } from '../model/tables.ts';
import { createFixedClock } from '../testing/fixed-clock.ts';
import { createLink, createReplica, syncUntilQuiet, type Replica } from '../testing/replicas.ts';
import { createScriptedModel, type ScriptedReply } from '../testing/scripted-model.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const onA: Actor = { kind: 'user', deviceId: 'dev_a' };
const onB: Actor = { kind: 'user', deviceId: 'dev_b' };

type Decision =
  { verdict: 'rejected' } | { verdict: 'approved'; editedParams?: Record<string, unknown> };

/**
 * Two devices that both have one pending proposal; each decides it while offline (`first`
 * decides earlier, so its decision wins), then they sync, `syncFirst` delivering first.
 */
async function decideOnBoth(options: {
  call: (taskId: string) => NonNullable<ScriptedReply['toolCalls']>[number];
  first: Decision;
  second: Decision;
  firstSide: 'a' | 'b';
  syncFirst: 'a' | 'b';
  /** Deliver only the later decider's changes to the first, `pageSize` at a time. */
  oneWay?: { pageSize: number };
}) {
  const clock = createFixedClock(start);
  let taskId = '';
  const model = createScriptedModel((request) =>
    request.messages.length > 2 ? { content: 'Done.' } : { toolCalls: [options.call(taskId)] },
  );
  const a = createReplica({
    runner: { kind: 'device', deviceId: 'dev_a' },
    clock,
    idPrefix: 'A',
    model,
  });
  const b = createReplica({
    runner: { kind: 'device', deviceId: 'dev_b' },
    clock,
    idPrefix: 'B',
    model,
  });
  taskId = await a.engine.saveRow({
    table: 'tasks',
    fields: { title: 'Write report', priority: 'normal' },
    actor: onA,
  });
  const missionId = await a.engine.createMission({
    draft: {
      title: 'Chores',
      objective: 'Keep chores moving',
      schedule: { kind: 'manual' },
      tools: { create_task: 'propose', update_task: 'propose' },
    },
    actor: onA,
  });
  clock.advance(1_000);
  const { iterationId } = await a.engine.runNow({ missionId });
  const aToB = createLink(a, b);
  const bToA = createLink(b, a);
  await aToB.deliver();
  const proposalId = `${iterationId}#0`;
  const [earlier, later]: [Replica, Replica] = options.firstSide === 'a' ? [a, b] : [b, a];
  for (const [side, decision] of [
    [earlier, options.first],
    [later, options.second],
  ] as const) {
    clock.advance(1_000);
    await side.engine.decide({
      proposalId,
      ...decision,
      actor: side === a ? onA : onB,
    });
  }
  if (options.oneWay) {
    const link = later === a ? aToB : bToA;
    while (link.pending() > 0) await link.deliver(options.oneWay.pageSize);
    const [proposal] = await earlier.engine.rows('proposals');
    return { a: earlier, b: later, proposal: proposal!, proposalId, taskId };
  }
  if (options.syncFirst === 'a') await syncUntilQuiet({ there: aToB, back: bToA });
  else await syncUntilQuiet({ there: bToA, back: aToB });
  for (const table of domainTables)
    expect(await b.store.list(table), table).toEqual(await a.store.list(table));
  const [proposalA] = await a.engine.rows('proposals');
  const [proposalB] = await b.engine.rows('proposals');
  expect(proposalA).toEqual(proposalB);
  return { a, b, proposal: proposalA!, proposalId, taskId };
}

const orders = [
  { firstSide: 'a', syncFirst: 'a' },
  { firstSide: 'a', syncFirst: 'b' },
  { firstSide: 'b', syncFirst: 'a' },
  { firstSide: 'b', syncFirst: 'b' },
] as const;

describe('two devices decide one proposal offline: the first decision wins, and so does its data', () => {
  it.each(orders)(
    'rejected first, approved later: no task anywhere (first on $firstSide, $syncFirst syncs first)',
    async (order) => {
      const { a, proposal, taskId } = await decideOnBoth({
        ...order,
        call: () => ({ name: 'create_task', arguments: { title: 'Book flights' } }),
        first: { verdict: 'rejected' },
        second: { verdict: 'approved' },
      });
      expect(proposal).toMatchObject({ status: 'rejected', effects: [] });
      expect((await a.engine.rows('tasks')).map((task) => task.id)).toEqual([taskId]);
    },
  );

  it.each(orders)(
    'approved with X first, with Y later: the task has X (first on $firstSide, $syncFirst syncs first)',
    async (order) => {
      const { a, proposal, proposalId } = await decideOnBoth({
        ...order,
        call: () => ({ name: 'create_task', arguments: { title: 'Book flights' } }),
        first: { verdict: 'approved', editedParams: { title: 'Book trains', priority: 'high' } },
        second: { verdict: 'approved', editedParams: { title: 'Book a car', due: '2026-12-01' } },
      });
      expect(proposal).toMatchObject({
        status: 'executed',
        decision: { editedParams: { title: 'Book trains', priority: 'high' } },
      });
      const created = (await a.engine.rows('tasks')).find(
        (task) => task.id === `${proposalId}/tasks`,
      );
      expect(created).toMatchObject({
        title: 'Book trains',
        priority: 'high',
        due: null,
        done: false,
      });
    },
  );

  it.each(orders)(
    'an edit of an existing task: rejected first puts the old values back (first on $firstSide, $syncFirst syncs first)',
    async (order) => {
      const { a, proposal, taskId } = await decideOnBoth({
        ...order,
        call: (id) => ({ name: 'update_task', arguments: { taskId: id, priority: 'high' } }),
        first: { verdict: 'rejected' },
        second: { verdict: 'approved', editedParams: { title: 'Write the report' } },
      });
      expect(proposal.status).toBe('rejected');
      expect((await a.engine.rows('tasks')).find((task) => task.id === taskId)).toMatchObject({
        title: 'Write report',
        priority: 'normal',
      });
    },
  );

  it.each(orders)(
    'an edit of an existing task: the first approval’s values stay (first on $firstSide, $syncFirst syncs first)',
    async (order) => {
      const { a, taskId } = await decideOnBoth({
        ...order,
        call: (id) => ({ name: 'update_task', arguments: { taskId: id, priority: 'high' } }),
        first: { verdict: 'approved', editedParams: { priority: 'low' } },
        second: { verdict: 'approved', editedParams: { title: 'Write the report' } },
      });
      expect((await a.engine.rows('tasks')).find((task) => task.id === taskId)).toMatchObject({
        title: 'Write report',
        priority: 'low',
      });
    },
  );

  it.each([1, 2, 100])(
    'the winner undoes a losing execution it receives, even if the loser never hears back (pages of %i)',
    async (pageSize) => {
      const { a, proposal, proposalId } = await decideOnBoth({
        firstSide: 'a',
        syncFirst: 'a',
        oneWay: { pageSize },
        call: () => ({ name: 'create_task', arguments: { title: 'Book flights' } }),
        first: { verdict: 'approved', editedParams: { title: 'Book trains' } },
        second: { verdict: 'approved', editedParams: { title: 'Book a car' } },
      });
      expect(proposal.decision).toMatchObject({ by: onA, editedParams: { title: 'Book trains' } });
      const created = (await a.engine.rows('tasks')).find(
        (task) => task.id === `${proposalId}/tasks`,
      );
      expect(created).toMatchObject({ title: 'Book trains', updatedBy: { kind: 'system' } });
    },
  );
});
