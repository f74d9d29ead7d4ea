import { isEngineError } from '../errors.ts';
import {
  maxStoredPromptChars,
  type DroppedStep,
  type ErrorInfo,
  type Plan,
  type Replay,
  type Step,
  type StoredPrompt,
  type Usage,
} from '../model/iteration.ts';
import type { Mission } from '../model/mission.ts';
import type { ChatMessage, LanguageModel, ToolCall } from '../ports.ts';
import { toolDefinition, type ToolRegistry } from '../tools/registry.ts';
import type { ToolContext } from '../tools/tool.ts';
import { hashText } from './hash.ts';
import { readModelAnswer } from './model-answer.ts';

export interface PlannerResult {
  status: 'planned' | 'failed';
  plan: Plan | null;
  usage: Usage;
  error: ErrorInfo | null;
  replay: Replay;
}

/**
 * The opening prompt as an iteration keeps it, or null when it cannot be kept whole: longer
 * than `maxStoredPromptChars` in all, or holding more than system and user messages.
 */
export function storedPromptOf(messages: ChatMessage[], tools: string[]): StoredPrompt | null {
  const kept: StoredPrompt['messages'] = [];
  let chars = 0;
  for (const message of messages) {
    if (message.role !== 'system' && message.role !== 'user') return null;
    chars += message.content.length;
    kept.push({ role: message.role, content: message.content });
  }
  if (chars > maxStoredPromptChars || kept.length === 0 || kept.length > 4) return null;
  return { messages: kept, tools: tools.slice(0, 100) };
}

export const defaultMaxRounds = 6;
const maxToolResultChars = 8_000;

function parseArguments(
  raw: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: raw.trim() === '' ? {} : JSON.parse(raw) };
  } catch (error) {
    return { ok: false, message: `arguments are not JSON: ${(error as Error).message}` };
  }
}

/**
 * The tool-calling loop. Read tools run and feed back; write-tool calls become steps; the loop
 * ends on an answer without tool calls or at `maxRounds`. Unknown, denied or invalid calls are
 * dropped with the reason recorded (and told to the model). A model failure, an answer that
 * does not fit the port's schema (`bad_answer`) and an empty final answer with no steps
 * (`empty_answer`) make the result `failed`, keeping what was received for diagnosis. Never
 * throws for anything the model does. `elapsedMs` is read from the host's clock.
 */
export async function runPlanner(options: {
  mission: Mission;
  messages: ChatMessage[];
  model: LanguageModel;
  modelName: string;
  tools: ToolRegistry;
  context: ToolContext;
  signal: AbortSignal;
  maxRounds?: number;
  elapsedMs: () => number;
  /** Awaited before every model call, the first included (a runner renews its claim there). */
  beforeRound?: (round: number) => Promise<void>;
}): Promise<PlannerResult> {
  const { mission, model, tools, context, signal } = options;
  const maxRounds = options.maxRounds ?? defaultMaxRounds;
  const messages = [...options.messages];
  const promptHash = hashText(JSON.stringify(messages));
  const allowed = [...tools.values()].filter((tool) => {
    const policy = mission.tools[tool.name];
    return policy !== undefined && policy !== 'deny';
  });
  const definitions = allowed.map(toolDefinition);
  const prompt = storedPromptOf(
    options.messages,
    allowed.map((tool) => tool.name),
  );
  const steps: Step[] = [];
  const dropped: DroppedStep[] = [];
  const responses: unknown[] = [];
  const usage: Usage = {
    promptTokens: 0,
    completionTokens: 0,
    model: options.modelName,
    latencyMs: 0,
    rounds: 0,
  };
  let summary: string | undefined;

  const failed = (error: ErrorInfo): PlannerResult => {
    usage.latencyMs = options.elapsedMs();
    return {
      status: 'failed',
      plan: null,
      usage,
      error,
      replay: { promptHash, responses, prompt },
    };
  };
  for (let round = 0; round < maxRounds && summary === undefined; round += 1) {
    let reply: unknown;
    await options.beforeRound?.(round);
    // A model that ignores the signal must not be called again once planning was stopped.
    if (signal.aborted) return failed({ code: 'aborted', message: 'Planning was stopped.' });
    // A call counts as a round whether or not it is answered: the budget compares the rounds
    // its claims granted with the rounds the iteration rows record.
    usage.rounds += 1;
    try {
      reply = await model.complete(
        { model: options.modelName, messages, tools: definitions, runOn: mission.runOn },
        { signal },
      );
    } catch (error) {
      const code = isEngineError(error) ? error.kind : 'model';
      return failed({ code, message: error instanceof Error ? error.message : String(error) });
    }
    const read = readModelAnswer(reply);
    if (!read.ok) {
      responses.push(read.raw);
      // The endpoint bills an unusable answer too: its tokens count against the budget.
      usage.promptTokens += read.usage.promptTokens;
      usage.completionTokens += read.usage.completionTokens;
      return failed({ code: 'bad_answer', message: read.message });
    }
    const answer = read.answer;
    responses.push(answer.raw);
    usage.promptTokens += answer.usage.promptTokens;
    usage.completionTokens += answer.usage.completionTokens;
    usage.model = answer.model || usage.model;
    const calls = answer.message.tool_calls;
    if (calls.length === 0) {
      summary = (answer.message.content ?? '').trim();
      break;
    }
    messages.push({ role: 'assistant', content: answer.message.content, tool_calls: calls });
    for (const call of calls) {
      const reply = await handleCall({
        call,
        mission,
        tools,
        context,
        steps,
        dropped,
        rationale: rationaleOf(call, answer.message.content),
      });
      messages.push({
        role: 'tool',
        tool_call_id: call.id,
        content: reply.slice(0, maxToolResultChars),
      });
    }
  }
  if (summary === '' && steps.length === 0)
    return failed({
      code: 'empty_answer',
      message: 'The model answered nothing usable: an empty reply and no steps.',
    });
  usage.latencyMs = options.elapsedMs();
  const plan: Plan = {
    summary:
      summary === undefined
        ? `Stopped after ${maxRounds} rounds without a final answer; ${steps.length} step(s) proposed.`
        : summary || `${steps.length} step(s) proposed.`,
    steps,
    dropped,
  };
  return { status: 'planned', plan, usage, error: null, replay: { promptHash, responses, prompt } };
}

/** Why a step was proposed: a `rationale` argument if the model gave one, else its words of that round. */
function rationaleOf(call: ToolCall, content: string | null): string {
  const parsed = parseArguments(call.function.arguments);
  const given =
    parsed.ok && parsed.value && typeof parsed.value === 'object'
      ? (parsed.value as { rationale?: unknown }).rationale
      : undefined;
  return (typeof given === 'string' ? given : (content ?? '')).trim().slice(0, 2_000);
}

/** Runs or records one tool call and returns what the model is told. */
async function handleCall(options: {
  call: ToolCall;
  mission: Mission;
  tools: ToolRegistry;
  context: ToolContext;
  steps: Step[];
  dropped: DroppedStep[];
  rationale: string;
}): Promise<string> {
  const { call, mission, tools, context, steps, dropped, rationale } = options;
  const name = call.function.name;
  const parsed = parseArguments(call.function.arguments);
  const drop = (reason: string) => {
    dropped.push({
      tool: name,
      params: parsed.ok ? parsed.value : call.function.arguments,
      reason,
    });
    return JSON.stringify({ error: reason });
  };
  const tool = tools.get(name);
  const policy = mission.tools[name];
  if (!tool) return drop(`unknown tool ${name}`);
  if (policy === undefined) return drop(`tool ${name} is not allowed for this mission`);
  if (policy === 'deny') return drop(`tool ${name} is denied for this mission`);
  if (!parsed.ok) return drop(parsed.message);
  const params = tool.params.safeParse(parsed.value);
  if (!params.success) {
    const issue = params.error.issues[0];
    return drop(
      `invalid params: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  if (tool.kind === 'read') {
    try {
      return JSON.stringify(await tool.execute(params.data as never, context));
    } catch (error) {
      return JSON.stringify({ error: `the tool failed: ${(error as Error).message}` });
    }
  }
  steps.push({ tool: name, params: params.data as Record<string, unknown>, rationale });
  return JSON.stringify({
    ok: true,
    note: `Recorded as step ${steps.length}; the person will review it.`,
  });
}
