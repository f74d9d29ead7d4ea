import { EngineError, type EngineErrorKind } from '../errors.ts';
import type { ChatRequest, ChatResponse, LanguageModel } from '../ports.ts';

export interface ScriptedReply {
  content?: string;
  toolCalls?: { name: string; arguments: unknown }[];
  /** Throw this message as a model error instead of answering. */
  error?: string;
  /** The kind of the error thrown for `error` (default `model`; `unavailable` is transient). */
  errorKind?: EngineErrorKind;
}

export interface ScriptedModel extends LanguageModel {
  /** Every request received, in order. */
  readonly requests: ChatRequest[];
}

/**
 * An in-memory LanguageModel for unit tests: `script(request, callIndex)` answers each call.
 * (Journeys use the real HTTP test server in @baton/relay instead.)
 */
export function createScriptedModel(
  script: (request: ChatRequest, callIndex: number) => ScriptedReply,
  defaultModel = 'scripted',
): ScriptedModel {
  const requests: ChatRequest[] = [];
  return {
    defaultModel,
    requests,
    async complete(request) {
      const callIndex = requests.length;
      requests.push(structuredClone(request));
      const reply = script(request, callIndex);
      if (reply.error) throw new EngineError(reply.errorKind ?? 'model', reply.error);
      const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
        id: `call_${callIndex}_${index}`,
        type: 'function' as const,
        function: {
          name: call.name,
          arguments:
            typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
        },
      }));
      const response: ChatResponse = {
        message: { content: reply.content ?? null, tool_calls: toolCalls },
        usage: { promptTokens: 100, completionTokens: 20 },
        model: request.model,
        raw: { reply },
      };
      return response;
    },
  };
}

/** Replies in order, then a final answer. */
export function replySequence(
  replies: ScriptedReply[],
  final: ScriptedReply = { content: 'Done.' },
) {
  return (_request: ChatRequest, callIndex: number): ScriptedReply => replies[callIndex] ?? final;
}
