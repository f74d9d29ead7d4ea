import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { Actor } from '../model/actor.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import { createScriptedModel, type ScriptedReply } from '../testing/scripted-model.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

/** An engine whose model proposes `calls` (built from the task ids) once, then answers. */
async function planned(calls: (taskIds: string[]) => ScriptedReply['toolCalls']) {
  const store = createMemoryStore();
  const clock = createFixedClock(start);
  let taskIds: string[] = [];
  const model = createScriptedModel((request) =>
    request.messages.length > 2
      ? { content: 'Done.' }
      : { content: 'Proposals.', toolCalls: calls(taskIds) ?? [] },
  );
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds(),
    model,
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  taskIds = [
    await engine.saveRow({
      table: 'tasks',
      fields: { title: 'Write report', notes: 'draft' },
      actor: person,
    }),
    await engine.saveRow({ table: 'tasks', fields: { title: 'Call the bank' }, actor: person }),
  ];
  const missionId = await engine.createMission({
    draft: {
      title: 'Chores',
      objective: 'Keep chores moving',
      schedule: { kind: 'manual' },
      tools: { create_task: 'propose', update_task: 'propose', complete_task: 'propose' },
    },
    actor: person,
  });
  clock.advance(1_000);
  const { iterationId } = await engine.runNow({ missionId });
  clock.advance(1_000);
  const proposal = (index: number) => `${iterationId}#${index}`;
  const task = async (id: string) => (await engine.rows('tasks')).find((row) => row.id === id);
  return { store, clock, engine, missionId, iterationId, taskIds, proposal, task };
}

describe('deciding a proposal', () => {
  it('marks a complete_task on a task that is already done as stale, with the reason', async () => {
    const { engine, taskIds, proposal } = await planned((ids) => [
      { name: 'complete_task', arguments: { taskId: ids[0] } },
    ]);
    await engine.saveRow({ table: 'tasks', id: taskIds[0], fields: { done: true }, actor: person });
    const outcome = await engine.decide({
      proposalId: proposal(0),
      verdict: 'approved',
      actor: person,
    });
    expect(outcome).toMatchObject({ kind: 'decided', status: 'stale' });
    const [row] = await engine.rows('proposals');
    expect(row).toMatchObject({
      status: 'stale',
      error: '"Write report" is already done',
      decision: { verdict: 'approved' },
    });
  });

  it('marks an update of a deleted task as stale, and writes no task', async () => {
    const { engine, store, taskIds, proposal } = await planned((ids) => [
      { name: 'update_task', arguments: { taskId: ids[1], priority: 'high' } },
    ]);
    await engine.deleteRow({ table: 'tasks', id: taskIds[1]!, actor: person });
    const before = (await store.get('tasks', taskIds[1]!))!;
    const outcome = await engine.decide({
      proposalId: proposal(0),
      verdict: 'approved',
      actor: person,
    });
    expect(outcome).toMatchObject({ kind: 'decided', status: 'stale' });
    expect((await engine.rows('proposals'))[0]!.error).toBe(
      `the task ${taskIds[1]} no longer exists`,
    );
    expect(await store.get('tasks', taskIds[1]!)).toEqual(before);
  });

  it('executes the edited params when the person edits and approves', async () => {
    const { engine, proposal } = await planned(() => [
      { name: 'create_task', arguments: { title: 'Buy milk', priority: 'low' } },
    ]);
    await engine.decide({
      proposalId: proposal(0),
      verdict: 'approved',
      editedParams: { title: 'Buy oat milk', priority: 'high' },
      actor: person,
    });
    const created = (await engine.rows('tasks')).find((task) => task.id === `${proposal(0)}/tasks`);
    expect(created).toMatchObject({ title: 'Buy oat milk', priority: 'high' });
    const [row] = await engine.rows('proposals');
    expect(row).toMatchObject({
      status: 'executed',
      params: { title: 'Buy milk', priority: 'low' },
      decision: { editedParams: { title: 'Buy oat milk', priority: 'high' } },
    });
  });

  it('removes an optional parameter the person cleared (null), and keeps null where it is a value', async () => {
    const { engine, taskIds, proposal, task } = await planned((ids) => [
      {
        name: 'update_task',
        arguments: {
          taskId: ids[0],
          title: 'Write the report',
          priority: 'high',
          due: '2026-12-01',
        },
      },
    ]);
    await engine.saveRow({
      table: 'tasks',
      id: taskIds[0],
      fields: { due: '2026-11-30' },
      actor: person,
    });
    await engine.decide({
      proposalId: proposal(0),
      verdict: 'approved',
      // The Inbox form cleared the priority (optional, not nullable) and the due date (nullable).
      editedParams: { priority: null, due: null },
      actor: person,
    });
    const [row] = await engine.rows('proposals');
    expect(row?.status).toBe('executed');
    expect(await task(taskIds[0]!)).toMatchObject({
      title: 'Write the report',
      priority: 'normal',
      due: null,
    });
  });

  it('refuses edited params that fail the tool schema and writes nothing', async () => {
    const { engine, store, proposal } = await planned(() => [
      { name: 'create_task', arguments: { title: 'Buy milk' } },
    ]);
    const recorded = store.recorded.length;
    const proposalsBefore = await store.list('proposals');
    await expect(
      engine.decide({
        proposalId: proposal(0),
        verdict: 'approved',
        editedParams: { priority: 'urgent' },
        actor: person,
      }),
    ).rejects.toMatchObject({
      kind: 'invalid',
      field: 'editedParams',
      message: expect.stringMatching(/priority/),
    });
    expect(store.recorded).toHaveLength(recorded);
    expect(await store.list('proposals')).toEqual(proposalsBefore);
    expect((await engine.rows('tasks')).map((task) => task.title).sort()).toEqual([
      'Call the bank',
      'Write report',
    ]);
  });

  it('refuses edited params on a rejection', async () => {
    const { engine, proposal } = await planned(() => [
      { name: 'create_task', arguments: { title: 'X' } },
    ]);
    await expect(
      engine.decide({
        proposalId: proposal(0),
        verdict: 'rejected',
        editedParams: { title: 'Y' },
        actor: person,
      }),
    ).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('keeps the feedback of a rejection and of the whole iteration', async () => {
    const { engine, iterationId, proposal } = await planned(() => [
      { name: 'create_task', arguments: { title: 'Doomscroll' } },
    ]);
    await engine.decide({
      proposalId: proposal(0),
      verdict: 'rejected',
      feedback: 'never this',
      actor: person,
    });
    expect((await engine.rows('proposals'))[0]).toMatchObject({
      status: 'rejected',
      decision: { verdict: 'rejected', feedback: 'never this', by: person },
    });
    await engine.setFeedback({ iterationId, feedback: '  Too many ideas  ', actor: person });
    expect((await engine.rows('iterations'))[0]).toMatchObject({
      feedback: 'Too many ideas',
      updatedBy: person,
    });
    await engine.setFeedback({ iterationId, feedback: '   ', actor: person });
    expect((await engine.rows('iterations'))[0]!.feedback).toBeNull();
    await expect(
      engine.setFeedback({ iterationId, feedback: 'x'.repeat(4_001), actor: person }),
    ).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('does not decide a proposal twice: the second sees the first decision', async () => {
    const { engine, proposal } = await planned(() => [
      { name: 'create_task', arguments: { title: 'X' } },
    ]);
    await engine.decide({ proposalId: proposal(0), verdict: 'rejected', actor: person });
    const again = await engine.decide({
      proposalId: proposal(0),
      verdict: 'approved',
      actor: person,
    });
    expect(again).toMatchObject({ kind: 'already_decided', decision: { verdict: 'rejected' } });
    expect(await engine.rows('tasks')).toHaveLength(2);
  });
});

describe('reverting an iteration', () => {
  it('deletes the rows it created and puts back the values it changed, as the person', async () => {
    const { engine, iterationId, taskIds, proposal, task } = await planned((ids) => [
      { name: 'create_task', arguments: { title: 'Book dentist' } },
      {
        name: 'update_task',
        arguments: { taskId: ids[0], title: 'Write the report', priority: 'high' },
      },
      { name: 'update_task', arguments: { taskId: ids[0], title: 'Write the final report' } },
      { name: 'complete_task', arguments: { taskId: ids[1] } },
    ]);
    for (const index of [0, 1, 2, 3])
      await engine.decide({ proposalId: proposal(index), verdict: 'approved', actor: person });
    expect(await task(taskIds[0]!)).toMatchObject({
      title: 'Write the final report',
      priority: 'high',
    });
    expect(await task(taskIds[1]!)).toMatchObject({ done: true });

    const reverted = await engine.revertIteration({ iterationId, actor: person });
    expect(reverted).toEqual({ reverted: 3, kept: [] });
    const tasks = await engine.rows('tasks');
    expect(tasks.map((row) => row.id).sort()).toEqual([...taskIds].sort());
    expect(await task(taskIds[0]!)).toMatchObject({
      title: 'Write report',
      priority: 'normal',
      notes: 'draft',
      updatedBy: person,
    });
    expect(await task(taskIds[1]!)).toMatchObject({ done: false, updatedBy: person });
    const [iteration] = await engine.rows('iterations');
    expect(iteration!.revertedAt).toEqual(expect.any(String));
    await expect(engine.revertIteration({ iterationId, actor: person })).rejects.toMatchObject({
      kind: 'conflict',
    });
  });

  it("keeps a person's edit made after the step, and says so (bug: revert restored it)", async () => {
    const { engine, iterationId, taskIds, proposal, task } = await planned((ids) => [
      { name: 'update_task', arguments: { taskId: ids[0], title: 'AI title', priority: 'high' } },
      { name: 'create_task', arguments: { title: 'New from the AI' } },
    ]);
    for (const index of [0, 1])
      await engine.decide({ proposalId: proposal(index), verdict: 'approved', actor: person });
    await engine.saveRow({
      table: 'tasks',
      id: taskIds[0]!,
      fields: { title: 'My title' },
      actor: person,
    });
    const created = (await engine.rows('tasks')).find((row) => row.title === 'New from the AI')!;
    await engine.saveRow({
      table: 'tasks',
      id: created.id,
      fields: { notes: 'mine now' },
      actor: person,
    });

    const result = await engine.revertIteration({ iterationId, actor: person });
    expect(await task(taskIds[0]!)).toMatchObject({ title: 'My title', priority: 'normal' });
    expect(await task(created.id)).toMatchObject({ title: 'New from the AI', notes: 'mine now' });
    expect(result.kept).toHaveLength(2);
    expect(result.kept).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          table: 'tasks',
          rowId: taskIds[0],
          fields: ['title'],
          reason: expect.stringContaining('you'),
        }),
        expect.objectContaining({ table: 'tasks', rowId: created.id, fields: ['notes'] }),
      ]),
    );
    const [iteration] = await engine.rows('iterations');
    expect(iteration!.revertKept).toEqual(result.kept);
  });

  it('converges on another replica that applies the revert', async () => {
    const { engine, store, iterationId, proposal } = await planned((ids) => [
      { name: 'update_task', arguments: { taskId: ids[0], title: 'B' } },
      { name: 'update_task', arguments: { taskId: ids[0], title: 'A' } },
    ]);
    for (const index of [0, 1])
      await engine.decide({ proposalId: proposal(index), verdict: 'approved', actor: person });
    await engine.revertIteration({ iterationId, actor: person });
    const other = createEngine({
      store: createMemoryStore(),
      clock: createFixedClock(start + 10_000),
      ids: createSequentialIds('B'),
      nodeId: 'dev_b',
      runner: { kind: 'device', deviceId: 'dev_b' },
    });
    await other.applyRemote(store.recorded);
    expect(await other.rows('tasks')).toEqual(await engine.rows('tasks'));
    expect((await other.rows('tasks')).map((row) => row.title).sort()).toEqual([
      'Call the bank',
      'Write report',
    ]);
  });
});
