import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { Actor } from '../model/actor.ts';
import { MissionSchema, type Mission, type MissionDraft } from '../model/mission.ts';
import type { ChatRequest, LanguageModel } from '../ports.ts';
import { createToolContext } from '../runner/execute-step.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import {
  createScriptedModel,
  replySequence,
  type ScriptedReply,
} from '../testing/scripted-model.ts';
import { createToolRegistry } from '../tools/registry.ts';
import { runPlanner } from './run-planner.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

function mission(draft: Partial<MissionDraft> = {}): Mission {
  return {
    id: 'm1',
    ...MissionSchema.parse({
      title: 'Daily plan',
      objective: 'Keep my week on track',
      schedule: { kind: 'manual' },
      tools: { list_tasks: 'auto', create_task: 'propose', complete_task: 'propose' },
      ...draft,
    }),
  };
}

async function plan(options: {
  replies: ScriptedReply[];
  final?: ScriptedReply;
  mission?: Mission;
  maxRounds?: number;
  userContent?: string;
  seed?: (engine: ReturnType<typeof createEngine>) => Promise<void>;
  /** A model answering in its own way, instead of the scripted replies. */
  model?: LanguageModel;
}) {
  const store = createMemoryStore();
  const engine = createEngine({
    store,
    clock: createFixedClock(start),
    ids: createSequentialIds(),
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  await options.seed?.(engine);
  const scripted = createScriptedModel(replySequence(options.replies, options.final));
  const result = await runPlanner({
    mission: options.mission ?? mission(),
    messages: [
      { role: 'system', content: 'rules' },
      { role: 'user', content: options.userContent ?? 'the mission' },
    ],
    model: options.model ?? scripted,
    modelName: 'scripted',
    tools: createToolRegistry(),
    context: createToolContext(store),
    signal: new AbortController().signal,
    elapsedMs: () => 42,
    ...(options.maxRounds === undefined ? {} : { maxRounds: options.maxRounds }),
  });
  return { result, model: scripted };
}

function toolNames(request: ChatRequest): string[] {
  return request.tools.map((tool) => tool.function.name).sort();
}

describe('runPlanner', () => {
  it('runs a read tool and sends its result back in the next request', async () => {
    const { result, model } = await plan({
      seed: async (engine) => {
        await engine.saveRow({
          table: 'tasks',
          fields: { title: 'Renew passport' },
          actor: person,
        });
      },
      replies: [{ toolCalls: [{ name: 'list_tasks', arguments: { filter: 'open' } }] }],
      final: { content: 'Nothing to add.' },
    });
    expect(result).toMatchObject({
      status: 'planned',
      plan: { summary: 'Nothing to add.', steps: [] },
    });
    const second = model.requests[1]!;
    const toolMessage = second.messages.find((message) => message.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call_0_0' });
    expect(JSON.parse((toolMessage as { content: string }).content)).toMatchObject([
      { title: 'Renew passport', done: false },
    ]);
    expect(second.messages.some((message) => message.role === 'assistant')).toBe(true);
  });

  it('tells the model port where the mission may run, so a host keeps a device mission on the device', async () => {
    const { model } = await plan({
      mission: mission({ runOn: 'device' }),
      replies: [{ toolCalls: [{ name: 'list_tasks', arguments: {} }] }],
      final: { content: 'Nothing to add.' },
    });
    expect(model.requests.map((request) => request.runOn)).toEqual(['device', 'device']);
  });

  it('turns write-tool calls into steps with their rationale, without executing them', async () => {
    const { result } = await plan({
      replies: [
        {
          content: 'The week needs a plan.',
          toolCalls: [{ name: 'create_task', arguments: { title: 'Plan the week' } }],
        },
      ],
      final: { content: 'One task proposed.' },
    });
    expect(result.plan?.steps).toMatchObject([
      {
        tool: 'create_task',
        params: { title: 'Plan the week' },
        rationale: 'The week needs a plan.',
      },
    ]);
    expect(result.usage).toMatchObject({
      rounds: 2,
      promptTokens: 200,
      completionTokens: 40,
      latencyMs: 42,
    });
  });

  it('drops a call with invalid params and records why', async () => {
    const { result, model } = await plan({
      replies: [
        {
          toolCalls: [
            { name: 'create_task', arguments: { title: '' } },
            { name: 'create_task', arguments: '{not json' },
            { name: 'create_task', arguments: { title: 'Valid' } },
          ],
        },
      ],
    });
    expect(result.plan?.steps.map((step) => step.params.title)).toEqual(['Valid']);
    expect(result.plan?.dropped).toEqual([
      {
        tool: 'create_task',
        params: { title: '' },
        reason: expect.stringMatching(/^invalid params: title/),
      },
      { tool: 'create_task', params: '{not json', reason: expect.stringMatching(/not JSON/) },
    ]);
    // The model is told too, so it can correct itself.
    const toolReply = model.requests[1]!.messages.find((message) => message.role === 'tool');
    expect((toolReply as { content: string }).content).toMatch(/invalid params/);
  });

  it('drops an unknown tool', async () => {
    const { result } = await plan({
      replies: [{ toolCalls: [{ name: 'send_email', arguments: {} }] }],
    });
    expect(result.plan?.dropped).toEqual([
      { tool: 'send_email', params: {}, reason: 'unknown tool send_email' },
    ]);
    expect(result.plan?.steps).toEqual([]);
  });

  it('does not offer a denied tool, and drops it if called anyway', async () => {
    const { result, model } = await plan({
      mission: mission({ tools: { list_tasks: 'auto', complete_task: 'deny' } }),
      replies: [{ toolCalls: [{ name: 'complete_task', arguments: { taskId: 't1' } }] }],
    });
    expect(toolNames(model.requests[0]!)).toEqual(['list_tasks']);
    expect(result.plan?.dropped).toEqual([
      {
        tool: 'complete_task',
        params: { taskId: 't1' },
        reason: 'tool complete_task is denied for this mission',
      },
    ]);
    expect(result.plan?.steps).toEqual([]);
  });

  it('does not offer a tool missing from mission.tools, and drops it if called', async () => {
    const { result, model } = await plan({
      mission: mission({ tools: { create_task: 'propose' } }),
      replies: [{ toolCalls: [{ name: 'create_note', arguments: { title: 'Idea' } }] }],
    });
    expect(toolNames(model.requests[0]!)).toEqual(['create_task']);
    expect(result.plan?.dropped).toEqual([
      {
        tool: 'create_note',
        params: { title: 'Idea' },
        reason: 'tool create_note is not allowed for this mission',
      },
    ]);
  });

  it('fails with the model error message, keeping what was received', async () => {
    const { result } = await plan({
      replies: [
        { toolCalls: [{ name: 'list_tasks', arguments: {} }] },
        { error: 'upstream timed out after 30 s' },
      ],
    });
    expect(result).toMatchObject({
      status: 'failed',
      plan: null,
      error: { code: 'model', message: 'upstream timed out after 30 s' },
      // The call that failed was made: it counts as a round.
      usage: { rounds: 2 },
    });
    expect(result.replay.responses).toHaveLength(1);
  });

  it('reads a reply without a tool-call list as a final answer', async () => {
    const model: LanguageModel = {
      defaultModel: 'bare',
      // Some servers leave out `tool_calls` (and usage) when there are none.
      complete: async () => ({ message: { content: 'Nothing to add.' }, raw: { id: 1 } }) as never,
    };
    const { result } = await plan({ replies: [], model });
    expect(result).toMatchObject({
      status: 'planned',
      plan: { summary: 'Nothing to add.', steps: [] },
      usage: { promptTokens: 0, completionTokens: 0, rounds: 1 },
    });
  });

  it('fails an empty final answer with no steps, keeping the raw answer', async () => {
    const { result } = await plan({ replies: [{ content: '   ' }] });
    expect(result).toMatchObject({
      status: 'failed',
      plan: null,
      error: {
        code: 'empty_answer',
        message: 'The model answered nothing usable: an empty reply and no steps.',
      },
    });
    expect(result.replay.responses).toEqual([{ reply: { content: '   ' } }]);
  });

  it('plans the steps of an empty final answer that came after write calls', async () => {
    const { result } = await plan({
      replies: [{ toolCalls: [{ name: 'create_task', arguments: { title: 'Stretch' } }] }],
      final: { content: '' },
    });
    expect(result).toMatchObject({
      status: 'planned',
      plan: { summary: '1 step(s) proposed.', steps: [{ tool: 'create_task' }] },
    });
  });

  it('fails an answer that does not fit the port, keeping the raw text', async () => {
    const answers: unknown[] = [
      { message: { content: 'x', tool_calls: [{ id: 'c1', function: {} }] }, raw: 'raw one' },
      { message: null, raw: 'raw two' },
      'not even an object',
    ];
    for (const answer of answers) {
      const model: LanguageModel = {
        defaultModel: 'odd',
        complete: async () => answer as never,
      };
      const { result } = await plan({ replies: [], model });
      expect(result).toMatchObject({
        status: 'failed',
        plan: null,
        error: {
          code: 'bad_answer',
          message: expect.stringMatching(/^The model's answer could not be read/),
        },
      });
      expect(result.replay.responses).toEqual([
        typeof answer === 'object' ? (answer as { raw: unknown }).raw : answer,
      ]);
    }
  });

  it('counts the tokens of an answer it cannot read: the endpoint billed them all the same', async () => {
    const model: LanguageModel = {
      defaultModel: 'odd',
      complete: async () =>
        ({
          message: { content: 'x', tool_calls: [{ id: 'c1', function: {} }] },
          usage: { promptTokens: 300, completionTokens: 20 },
          raw: 'raw',
        }) as never,
    };
    const { result } = await plan({ replies: [], model });
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'bad_answer' },
      usage: { promptTokens: 300, completionTokens: 20, rounds: 1 },
    });
    // An answer without a message (an endpoint that sent no choices) is paid for too.
    const silent: LanguageModel = {
      defaultModel: 'odd',
      complete: async () => ({
        message: null,
        usage: { promptTokens: 420, completionTokens: 3 },
        model: 'odd',
        raw: { choices: [] },
      }),
    };
    const { result: unanswered } = await plan({ replies: [], model: silent });
    expect(unanswered).toMatchObject({
      status: 'failed',
      error: {
        code: 'bad_answer',
        message:
          "The model's answer could not be read (message: the model answered without a message).",
      },
      usage: { promptTokens: 420, completionTokens: 3, rounds: 1 },
    });
    // An answer whose usage cannot be read either counts no tokens, and is still a bad answer.
    const unreadable: LanguageModel = {
      defaultModel: 'odd',
      complete: async () => ({ message: null, usage: { promptTokens: -1 }, raw: 'raw' }) as never,
    };
    const { result: failed } = await plan({ replies: [], model: unreadable });
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'bad_answer' },
      usage: { promptTokens: 0, completionTokens: 0, rounds: 1 },
    });
  });

  it('stops at the round cap: planned with the steps so far and a summary saying it stopped', async () => {
    const { result, model } = await plan({
      maxRounds: 3,
      replies: Array.from({ length: 10 }, (_, index) => ({
        toolCalls: [{ name: 'create_task', arguments: { title: `Task ${index}` } }],
      })),
    });
    expect(model.requests).toHaveLength(3);
    expect(result.status).toBe('planned');
    expect(result.plan?.steps).toHaveLength(3);
    expect(result.plan?.summary).toMatch(/^Stopped after 3 rounds without a final answer; 3 step/);
  });

  it('keeps the prompt hash and the raw responses for replay', async () => {
    const replies = [
      { toolCalls: [{ name: 'list_tasks', arguments: {} }] },
      { content: 'Done here.' },
    ];
    const first = await plan({ replies });
    const second = await plan({ replies });
    expect(first.result.replay.promptHash).toMatch(/^[0-9a-f]{14}$/);
    expect(second.result.replay.promptHash).toBe(first.result.replay.promptHash);
    expect(first.result.replay.responses).toEqual([{ reply: replies[0] }, { reply: replies[1] }]);
    const other = await plan({ replies, userContent: 'another mission' });
    expect(other.result.replay.promptHash).not.toBe(first.result.replay.promptHash);
  });
});

describe('the next prompt', () => {
  it('tells the model what became of earlier steps: approved, edited, rejected with feedback', async () => {
    const store = createMemoryStore();
    const clock = createFixedClock(start);
    let calls = 0;
    const model = createScriptedModel((request) => {
      calls += 1;
      if (request.messages.length > 2) return { content: 'Done.' };
      return {
        content: 'Three ideas.',
        toolCalls: [
          { name: 'create_task', arguments: { title: 'Stretch' } },
          { name: 'create_task', arguments: { title: 'Read', priority: 'low' } },
          { name: 'create_task', arguments: { title: 'Doomscroll' } },
        ],
      };
    });
    const engine = createEngine({
      store,
      clock,
      ids: createSequentialIds(),
      model,
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const missionId = await engine.createMission({
      draft: {
        title: 'Habits',
        objective: 'Suggest small habits',
        schedule: { kind: 'manual' },
        tools: { create_task: 'propose' },
      },
      actor: person,
    });
    clock.advance(1_000);
    const { iterationId } = await engine.runNow({ missionId });
    const proposalId = (index: number) => `${iterationId}#${index}`;
    await engine.decide({ proposalId: proposalId(0), verdict: 'approved', actor: person });
    await engine.decide({
      proposalId: proposalId(1),
      verdict: 'approved',
      editedParams: { priority: 'high' },
      actor: person,
    });
    await engine.decide({
      proposalId: proposalId(2),
      verdict: 'rejected',
      feedback: 'no screens please',
      actor: person,
    });
    await engine.setFeedback({ iterationId, feedback: 'Good start', actor: person });
    clock.advance(60_000);
    const before = model.requests.length;
    await engine.runNow({ missionId });
    const prompt = model.requests[before]!.messages[1] as { content: string };
    expect(prompt.content).toMatch(/create_task \{"title":"Stretch"[^\n]*→ approved\n/);
    expect(prompt.content).toContain('approved, changed priority from "low" to "high"');
    expect(prompt.content).toContain('rejected (feedback: "no screens please")');
    expect(prompt.content).toContain('(the person said: "Good start")');
    expect(prompt.content).toContain('Objective: Suggest small habits');
    expect(calls).toBeGreaterThan(2);
  });
});
