import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { Actor } from '../model/actor.ts';
import { createToolContext } from '../runner/execute-step.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { builtinTools, createToolRegistry, toolDefinition } from './registry.ts';
import { createdRowId, type WriteTool } from './tool.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

async function seeded() {
  const store = createMemoryStore();
  const engine = createEngine({
    store,
    clock: createFixedClock(start),
    ids: createSequentialIds(),
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  const taskId = await engine.saveRow({
    table: 'tasks',
    fields: { title: 'Task' },
    actor: person,
  });
  const noteId = await engine.saveRow({
    table: 'notes',
    fields: { title: 'Note', body: 'Hello' },
    actor: person,
  });
  const goalId = await engine.saveRow({
    table: 'goals',
    fields: { title: 'Goal' },
    actor: person,
  });
  return { store, taskId, noteId, goalId };
}

describe('tool definitions', () => {
  it.each(builtinTools.map((tool) => [tool.name, tool] as const))(
    '%s exports its params as a JSON schema object',
    (_name, tool) => {
      const definition = toolDefinition(tool);
      expect(definition.type).toBe('function');
      expect(definition.function.name).toBe(tool.name);
      expect(definition.function.description.length).toBeGreaterThan(0);
      expect(definition.function.parameters).toMatchObject({ type: 'object' });
      expect(definition.function.parameters).not.toHaveProperty('$schema');
      expect(typeof definition.function.parameters.properties).toBe('object');
      // Plain JSON: survives a round trip to the model and back.
      expect(JSON.parse(JSON.stringify(definition))).toEqual(definition);
    },
  );

  it('has unique names', () => {
    expect(createToolRegistry().size).toBe(builtinTools.length);
  });

  it('marks required params as required', () => {
    const createTask = builtinTools.find((tool) => tool.name === 'create_task')!;
    expect(toolDefinition(createTask).function.parameters).toMatchObject({ required: ['title'] });
  });
});

describe('write tools', () => {
  it('derive the rows they write from the proposal id, so executing twice gives the same edits', async () => {
    const { store, taskId, noteId, goalId } = await seeded();
    const params: Record<string, unknown> = {
      create_task: { title: 'New task' },
      update_task: { taskId, priority: 'high' },
      complete_task: { taskId },
      create_note: { title: 'New note' },
      append_note: { noteId, text: 'More' },
      create_goal: { title: 'New goal' },
      log_goal_progress: { goalId, progress: 50 },
      update_note: { noteId, body: 'Rewritten' },
      update_goal: { goalId, target: 'Run 10 km' },
      complete_goal: { goalId },
    };
    const writeTools = builtinTools.filter(
      (tool): tool is WriteTool<never> => tool.kind === 'write',
    );
    expect(writeTools.map((tool) => tool.name).sort()).toEqual(Object.keys(params).sort());
    const context = { ...createToolContext(store), proposalId: 'm1@2026-11-25T07:00:00.000Z#3' };
    for (const tool of writeTools) {
      const parsed = tool.params.parse(params[tool.name]) as never;
      const first = await tool.execute(parsed, context);
      const second = await tool.execute(parsed, context);
      expect(second).toEqual(first);
      expect(first.kind).toBe('edits');
      if (first.kind !== 'edits') continue;
      if (tool.name.startsWith('create_')) {
        const table = first.result.table;
        expect(first.result.rowId).toBe(createdRowId(context.proposalId, table));
        expect(first.edits.map((edit) => edit.rowId)).toEqual([first.result.rowId]);
      } else {
        expect([taskId, noteId, goalId]).toContain(first.result.rowId);
      }
    }
  });

  it('converge to one row when two devices approve the same proposal offline', async () => {
    const clock = createFixedClock(start);
    const model = createScriptedModel((request) =>
      request.messages.length > 2
        ? { content: 'Done.' }
        : { toolCalls: [{ name: 'create_task', arguments: { title: 'Book flights' } }] },
    );
    const make = (nodeId: string, prefix: string) => {
      const store = createMemoryStore();
      return {
        store,
        engine: createEngine({
          store,
          clock,
          ids: createSequentialIds(prefix),
          model,
          nodeId,
          runner: { kind: 'device', deviceId: nodeId },
        }),
      };
    };
    const a = make('dev_a', 'A');
    const b = make('dev_b', 'B');
    const missionId = await a.engine.createMission({
      draft: {
        title: 'Trip',
        objective: 'Plan the trip',
        schedule: { kind: 'manual' },
        tools: { create_task: 'propose' },
      },
      actor: person,
    });
    clock.advance(1_000);
    const { iterationId } = await a.engine.runNow({ missionId });
    await b.engine.applyRemote(a.store.recorded);
    const sent = a.store.recorded.length;
    clock.advance(1_000);
    await a.engine.decide({ proposalId: `${iterationId}#0`, verdict: 'approved', actor: person });
    await b.engine.decide({
      proposalId: `${iterationId}#0`,
      verdict: 'approved',
      actor: { kind: 'user', deviceId: 'dev_b' },
    });
    await b.engine.applyRemote(a.store.recorded.slice(sent));
    await a.engine.applyRemote(b.store.recorded);
    for (const side of [a, b]) {
      const tasks = await side.engine.rows('tasks');
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ id: `${iterationId}#0/tasks`, title: 'Book flights' });
    }
    expect(await a.store.list('tasks')).toEqual(await b.store.list('tasks'));
    expect(await a.store.list('proposals')).toEqual(await b.store.list('proposals'));
  });
});

describe('note and goal tools', () => {
  async function context() {
    const { store, noteId, goalId } = await seeded();
    const engine = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds('C'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const otherNote = await engine.saveRow({
      table: 'notes',
      fields: { title: 'Groceries', body: 'Oat MILK, bread' },
      actor: person,
    });
    const otherGoal = await engine.saveRow({
      table: 'goals',
      fields: { title: 'Fitness', target: 'Run a 10K race', progress: 100 },
      actor: person,
    });
    return {
      noteId,
      goalId,
      otherNote,
      otherGoal,
      context: { ...createToolContext(store), proposalId: 'm1@2026-11-25T07:00:00.000Z#0' },
    };
  }
  const tool = (name: string) => createToolRegistry().get(name)! as WriteTool<never>;
  const run = async (
    name: string,
    params: unknown,
    ctx: Awaited<ReturnType<typeof context>>,
  ): Promise<unknown> => tool(name).execute(tool(name).params.parse(params) as never, ctx.context);

  it('search_notes finds notes by title or body, ignoring case', async () => {
    const ctx = await context();
    expect(await run('search_notes', { query: 'milk' }, ctx)).toEqual([
      { id: ctx.otherNote, title: 'Groceries', excerpt: 'Oat MILK, bread' },
    ]);
    expect(await run('search_notes', { query: 'NOTE' }, ctx)).toEqual([
      { id: ctx.noteId, title: 'Note', excerpt: 'Hello' },
    ]);
    expect(await run('search_notes', { query: 'nothing like this' }, ctx)).toEqual([]);
  });

  it('update_note replaces title or body, and is stale when nothing would change or the note is gone', async () => {
    const ctx = await context();
    expect(
      await run('update_note', { noteId: ctx.noteId, title: 'Note', body: 'Hi' }, ctx),
    ).toEqual({
      kind: 'edits',
      edits: [{ table: 'notes', rowId: ctx.noteId, fields: { body: 'Hi' } }],
      result: { table: 'notes', rowId: ctx.noteId },
    });
    expect(await run('update_note', { noteId: ctx.noteId, body: 'Hello' }, ctx)).toEqual({
      kind: 'stale',
      reason: 'the note already has these values',
    });
    expect(await run('update_note', { noteId: 'gone', body: 'x' }, ctx)).toEqual({
      kind: 'stale',
      reason: 'the note gone no longer exists',
    });
    expect(tool('update_note').params.safeParse({ noteId: ctx.noteId, title: ' ' }).success).toBe(
      false,
    );
  });

  it('get_goal and search_goals read goals', async () => {
    const ctx = await context();
    expect(await run('get_goal', { goalId: ctx.otherGoal }, ctx)).toEqual({
      id: ctx.otherGoal,
      title: 'Fitness',
      target: 'Run a 10K race',
      progress: 100,
    });
    expect(await run('get_goal', { goalId: 'gone' }, ctx)).toEqual({
      error: 'no goal with id gone',
    });
    expect(
      ((await run('search_goals', { query: '10k' }, ctx)) as { id: string }[]).map(
        (goal) => goal.id,
      ),
    ).toEqual([ctx.otherGoal]);
  });

  it('update_goal changes title or target; complete_goal reaches it once', async () => {
    const ctx = await context();
    expect(
      await run('update_goal', { goalId: ctx.goalId, target: 'Every week' }, ctx),
    ).toMatchObject({
      kind: 'edits',
      edits: [{ table: 'goals', rowId: ctx.goalId, fields: { target: 'Every week' } }],
    });
    expect(await run('update_goal', { goalId: ctx.goalId, title: 'Goal' }, ctx)).toEqual({
      kind: 'stale',
      reason: 'the goal already has these values',
    });
    expect(await run('complete_goal', { goalId: ctx.goalId }, ctx)).toMatchObject({
      kind: 'edits',
      edits: [{ table: 'goals', rowId: ctx.goalId, fields: { progress: 100 } }],
    });
    expect(await run('complete_goal', { goalId: ctx.otherGoal }, ctx)).toEqual({
      kind: 'stale',
      reason: '"Fitness" is already reached',
    });
    expect(await run('complete_goal', { goalId: 'gone' }, ctx)).toEqual({
      kind: 'stale',
      reason: 'the goal gone no longer exists',
    });
  });
});
