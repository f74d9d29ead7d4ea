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
