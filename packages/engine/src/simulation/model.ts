/**
 * The simulated model service: answers planning calls with plans drawn from the seed, after a
 * latency drawn from it, and fails as real services do (transient 429/5xx/timeouts, permanent
 * errors, unusable answers). It counts conversations per iteration id: the judge of "one plan
 * per slot".
 */
import { EngineError } from '../errors.ts';
import type { ChatRequest, ChatResponse, LanguageModel } from '../ports.ts';
import type { Random } from './random.ts';
import type { World } from './world.ts';

/** One conversation (the first round of a planning run). */
export interface Conversation {
  iterationId: string;
  missionId: string;
  slotMs: number;
  /** The "now" the runner told the model. */
  toldNowMs: number;
  node: string;
  /** Whether the relay granted the runner's claim (false: planned cut off from the relay). */
  claimed: boolean;
  at: number;
  tokens: number;
  /** A round of it failed (a retry of the slot may follow). */
  failed: boolean;
}

export interface ModelFaults {
  /** Probability that a call fails with a transient error. */
  transient: number;
  /** Probability that a call fails for good (a refused model, a bad request). */
  permanent: number;
  /** Probability of an answer that does not fit the protocol. */
  badAnswer: number;
  /** Probability of a slow call (up to `slowMs`). */
  slow: number;
  slowMs: number;
}

export const healthyModel: ModelFaults = {
  transient: 0,
  permanent: 0,
  badAnswer: 0,
  slow: 0,
  slowMs: 0,
};

export interface SimModelService {
  faults: ModelFaults;
  readonly conversations: Conversation[];
  /** Known row ids the model may refer to (as a real model reads them from the prompt). */
  knownRows: { tasks: string[]; notes: string[]; goals: string[] };
  /**
   * The model as one node sees it. `reachable` says whether the call gets through (a device's
   * own endpoint always does; the relay's proxy needs the network); `alive` throws Crashed into
   * the call of a node that died meanwhile.
   */
  endpoint(options: {
    node: string;
    reachable: () => boolean;
    claimed: (iterationId: string) => boolean;
    waitAlive: () => Promise<void>;
    timeoutMs: number;
  }): LanguageModel;
}

const objectivePattern = /\[mission (m_[a-z0-9_]+)\]/;
const slotPattern = /This run is for the slot (\S+)\./;
const nowPattern = /^Now: (\S+) /m;

function parsePrompt(request: ChatRequest) {
  const prompt = request.messages.find((message) => message.role === 'user');
  const text = prompt && typeof prompt.content === 'string' ? prompt.content : '';
  const missionId = objectivePattern.exec(text)?.[1] ?? '?';
  const slotIso = slotPattern.exec(text)?.[1] ?? '';
  const nowIso = nowPattern.exec(text)?.[1] ?? '';
  return {
    missionId,
    slotIso,
    slotMs: Date.parse(slotIso),
    toldNowMs: Date.parse(nowIso),
    iterationId: `${missionId}@${slotIso}`,
  };
}

export function createSimModelService(options: { world: World; random: Random }): SimModelService {
  const { world, random } = options;
  const conversations: Conversation[] = [];
  const service: SimModelService = {
    faults: { ...healthyModel },
    conversations,
    knownRows: { tasks: [], notes: [], goals: [] },
    endpoint(endpoint) {
      return {
        defaultModel: 'sim-model',
        async complete(request, { signal }): Promise<ChatResponse> {
          const first = request.messages.length <= 2;
          const prompt = parsePrompt(request);
          if (!endpoint.reachable()) {
            await world.sleep(random.int(100, 5_000));
            await endpoint.waitAlive();
            // A later round that cannot get through fails the conversation it belongs to.
            const open = first
              ? undefined
              : conversations.findLast(
                  (entry) =>
                    entry.iterationId === prompt.iterationId && entry.node === endpoint.node,
                );
            if (open) open.failed = true;
            throw new EngineError('unavailable', 'the model endpoint is unreachable');
          }
          const faults = service.faults;
          const slow = random.chance(faults.slow);
          const latency = slow ? random.int(10_000, faults.slowMs) : random.int(200, 8_000);
          const outcome = random.chance(faults.transient)
            ? 'transient'
            : random.chance(faults.permanent)
              ? 'permanent'
              : random.chance(faults.badAnswer)
                ? 'bad'
                : 'ok';
          if (first) {
            conversations.push({
              ...prompt,
              node: endpoint.node,
              claimed: endpoint.claimed(prompt.iterationId),
              at: world.now,
              tokens: 0,
              failed: false,
            });
          }
          const conversation = conversations.findLast(
            (entry) => entry.iterationId === prompt.iterationId && entry.node === endpoint.node,
          );
          world.log(
            endpoint.node,
            `model ${first ? 'opens' : 'continues'} ${prompt.iterationId} (${outcome}, ${latency} ms)`,
          );
          const timedOut = latency > endpoint.timeoutMs;
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              if (conversation) conversation.failed = true;
              reject(new EngineError('unavailable', 'the model call was aborted'));
            };
            signal.addEventListener('abort', onAbort, { once: true });
            world.after(Math.min(latency, endpoint.timeoutMs), 'model answers', () => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            });
          });
          await endpoint.waitAlive();
          if (conversation && (timedOut || outcome !== 'ok')) conversation.failed = true;
          if (timedOut)
            throw new EngineError(
              'unavailable',
              `the model did not answer within ${endpoint.timeoutMs} ms (timeout)`,
            );
          if (outcome === 'transient')
            throw new EngineError(
              'unavailable',
              random.pick(['429 rate limited', '503 overloaded', '502 bad gateway']),
            );
          if (outcome === 'permanent')
            throw new EngineError('model', '400 the model refused the request');
          const usage = { promptTokens: 100, completionTokens: 20 };
          if (conversation) conversation.tokens += 120;
          if (outcome === 'bad')
            return {
              message: { content: null, tool_calls: 'not a list' },
              usage,
              model: 'sim-model',
              raw: {},
            } as unknown as ChatResponse;
          const calls = first ? planCalls(random, service.knownRows) : [];
          return {
            message: {
              content: calls.length === 0 ? 'Done.' : 'Here is what I propose.',
              tool_calls: calls.map((call, index) => ({
                id: `call_${index}`,
                type: 'function' as const,
                function: { name: call.name, arguments: JSON.stringify(call.arguments) },
              })),
            },
            usage,
            model: request.model,
            raw: { calls: calls.length },
          };
        },
      };
    },
  };
  return service;
}

/** A plan of 0–3 write steps on the person's data, as a model would propose. */
function planCalls(
  random: Random,
  known: SimModelService['knownRows'],
): { name: string; arguments: Record<string, unknown> }[] {
  const count = random.pick([0, 1, 1, 2, 2, 3]);
  const calls = [];
  for (let index = 0; index < count; index += 1) {
    const kind = random.int(0, 5);
    if (kind <= 1 || known.tasks.length === 0)
      calls.push({ name: 'create_task', arguments: { title: `Task ${random.int(1, 999)}` } });
    else if (kind === 2)
      calls.push({
        name: 'update_task',
        arguments: { taskId: random.pick(known.tasks), title: `Renamed ${random.int(1, 999)}` },
      });
    else if (kind === 3)
      calls.push({ name: 'complete_task', arguments: { taskId: random.pick(known.tasks) } });
    else if (kind === 4 || known.notes.length === 0)
      calls.push({
        name: 'create_note',
        arguments: { title: `Note ${random.int(1, 999)}`, body: 'Written by the model.' },
      });
    else
      calls.push({
        name: 'update_note',
        arguments: { noteId: random.pick(known.notes), body: `Body ${random.int(1, 999)}` },
      });
  }
  return calls;
}
