import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import { isEngineError } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import { maxStoredPromptChars } from '../model/iteration.ts';
import type { ChatRequest } from '../ports.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import { createScriptedModel, type ScriptedReply } from '../testing/scripted-model.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

/** The first model call of a run proposes a task named after the model; the next one ends. */
function answerByModel(request: ChatRequest): ScriptedReply {
  if (request.messages.some((message) => message.role === 'tool'))
    return { content: `Plan by ${request.model}.` };
  return { toolCalls: [{ name: 'create_task', arguments: { title: `Ask ${request.model}` } }] };
}

async function setup() {
  const store = createMemoryStore();
  const clock = createFixedClock(start);
  const model = createScriptedModel(answerByModel, 'small-model');
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds('A'),
    model,
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  await engine.saveRow({ table: 'tasks', fields: { title: 'Water the plants' }, actor: person });
  const missionId = await engine.createMission({
    draft: {
      title: 'Daily plan',
      objective: 'Keep my day on track',
      schedule: { kind: 'manual' },
      inputs: [{ table: 'tasks', where: 'open' }],
      tools: { create_task: 'propose', list_tasks: 'auto' },
    },
    actor: person,
  });
  clock.advance(60_000);
  const { iterationId } = await engine.runNow({ missionId });
  return { store, clock, model, engine, missionId, iterationId };
}

/** Every row of every table, to show that a replay writes nothing. */
async function snapshot(store: ReturnType<typeof createMemoryStore>) {
  const tables = ['missions', 'iterations', 'proposals', 'tasks', 'notes', 'goals'] as const;
  return Promise.all(tables.map((table) => store.list(table)));
}

describe('replayIteration', () => {
  it('sends the run’s stored prompt to another model and returns both plans, writing nothing', async () => {
    const { store, model, engine, iterationId } = await setup();
    const before = await snapshot(store);
    const original = model.requests[0]!;

    const outcome = await engine.replayIteration({ iterationId, model: 'large-model' });

    const replayed = model.requests[2]!;
    expect(replayed.model).toBe('large-model');
    expect(replayed.messages).toEqual(original.messages.slice(0, 2));
    expect(replayed.tools.map((tool) => tool.function.name).sort()).toEqual(
      original.tools.map((tool) => tool.function.name).sort(),
    );
    expect(outcome.promptSource).toBe('stored');
    expect(outcome.samePrompt).toBe(true);
    expect(outcome.original.plan?.summary).toBe('Plan by small-model.');
    expect(outcome.original.plan?.steps[0]?.params).toMatchObject({ title: 'Ask small-model' });
    expect(outcome.replayed.status).toBe('planned');
    expect(outcome.replayed.plan?.summary).toBe('Plan by large-model.');
    expect(outcome.replayed.plan?.steps[0]?.params).toMatchObject({ title: 'Ask large-model' });
    expect(outcome.replayed.usage.model).toBe('large-model');
    expect(await snapshot(store)).toEqual(before);
  });

  it('keeps the same prompt while the data changed since the run', async () => {
    const { model, engine, iterationId } = await setup();
    await engine.saveRow({
      table: 'tasks',
      fields: { title: 'A task added later' },
      actor: person,
    });

    const outcome = await engine.replayIteration({ iterationId });

    expect(model.requests[2]!.model).toBe('small-model');
    expect(JSON.stringify(model.requests[2]!.messages)).not.toContain('A task added later');
    expect(outcome.samePrompt).toBe(true);
  });

  it('rebuilds the prompt from the data when the run kept none, and says whether it matches', async () => {
    const { store, model, engine, iterationId } = await setup();
    // A run written by a version that kept no prompt.
    await store.transaction(async (writer) => {
      const row = (await writer.get('iterations', iterationId))!;
      const replay = row.fields.replay as Record<string, unknown>;
      await writer.put([
        { ...row, fields: { ...row.fields, replay: { ...replay, prompt: null } } },
      ]);
    });

    const same = await engine.replayIteration({ iterationId, model: 'large-model' });
    expect(same.promptSource).toBe('rebuilt');
    expect(same.samePrompt).toBe(true);
    expect(model.requests[2]!.messages).toEqual(model.requests[0]!.messages.slice(0, 2));

    await engine.saveRow({
      table: 'tasks',
      fields: { title: 'A task added later' },
      actor: person,
    });
    const changed = await engine.replayIteration({ iterationId, model: 'large-model' });
    expect(changed.promptSource).toBe('rebuilt');
    expect(changed.samePrompt).toBe(false);
  });

  it('refuses an unknown run, and one with no model to ask', async () => {
    const { engine, iterationId, store, clock } = await setup();
    await expect(engine.replayIteration({ iterationId: 'm_x@2026' })).rejects.toSatisfy(
      (error: unknown) => isEngineError(error, 'not_found'),
    );
    const withoutModel = createEngine({
      store,
      clock,
      ids: createSequentialIds('B'),
      nodeId: 'dev_b',
      runner: { kind: 'device', deviceId: 'dev_b' },
    });
    await expect(withoutModel.replayIteration({ iterationId })).rejects.toSatisfy(
      (error: unknown) => isEngineError(error, 'no_model'),
    );
  });
});

describe('the prompt an iteration keeps', () => {
  it('is kept whole up to the bound and not at all beyond it', async () => {
    const { engine, iterationId, missionId, clock } = await setup();
    const byId = async (id: string) =>
      (await engine.rows('iterations')).find((iteration) => iteration.id === id);
    const kept = await byId(iterationId);
    expect(kept?.replay?.prompt?.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
    ]);
    expect(kept?.replay?.prompt?.tools.sort()).toEqual(['create_task', 'list_tasks']);

    // Open tasks with long notes make the prompt pass the bound.
    for (let index = 0; index < Math.ceil(maxStoredPromptChars / 20_000) + 1; index += 1)
      await engine.saveRow({
        table: 'tasks',
        fields: { title: `Long ${index}`, notes: 'x'.repeat(20_000) },
        actor: person,
      });
    clock.advance(60_000);
    const long = await engine.runNow({ missionId });
    const notKept = await byId(long.iterationId);
    expect(notKept?.status).toBe('planned');
    expect(notKept?.replay?.prompt).toBeNull();
    expect(notKept?.replay?.promptHash).not.toBe('');
  });
});
