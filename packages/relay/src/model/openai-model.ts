/**
 * The engine's LanguageModel port on the `openai` SDK, against any OpenAI-compatible base URL.
 * Every call has a timeout and honours the caller's signal; failures reject with an
 * EngineError: `model` (the endpoint answered with an error or nothing usable) or
 * `unavailable` (it could not be reached or timed out). `onCall` reports each call's outcome
 * and latency (metrics).
 */
import { EngineError, type ChatResponse, type LanguageModel, type ToolCall } from '@baton/engine';
import OpenAI from 'openai';

export interface OpenAiModelOptions {
  baseUrl: string;
  apiKey: string;
  /** The model used when a mission names none. */
  defaultModel: string;
  timeoutMs: number;
  /** Milliseconds since some origin (performance.now by default), for latency. */
  elapsed?: () => number;
  onCall?: (call: { outcome: 'ok' | 'error'; latencyMs: number }) => void;
}

export function createOpenAiModel(options: OpenAiModelOptions): LanguageModel {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey,
    timeout: options.timeoutMs,
    maxRetries: 1,
  });
  const elapsed = options.elapsed ?? (() => performance.now());
  return {
    defaultModel: options.defaultModel,
    async complete(request, { signal }): Promise<ChatResponse> {
      const started = elapsed();
      try {
        const completion = await client.chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
            ...(request.tools.length > 0 ? { tools: request.tools } : {}),
          },
          { signal, timeout: options.timeoutMs },
        );
        const message = completion.choices[0]?.message;
        if (!message)
          throw new EngineError('model', `The model ${request.model} answered without a message.`);
        const toolCalls: ToolCall[] = (message.tool_calls ?? []).flatMap((call) =>
          call.type === 'function'
            ? [
                {
                  id: call.id,
                  type: 'function' as const,
                  function: { name: call.function.name, arguments: call.function.arguments },
                },
              ]
            : [],
        );
        options.onCall?.({ outcome: 'ok', latencyMs: elapsed() - started });
        return {
          message: { content: message.content ?? null, tool_calls: toolCalls },
          usage: {
            promptTokens: completion.usage?.prompt_tokens ?? 0,
            completionTokens: completion.usage?.completion_tokens ?? 0,
          },
          model: completion.model || request.model,
          raw: completion,
        };
      } catch (error) {
        options.onCall?.({ outcome: 'error', latencyMs: elapsed() - started });
        throw toModelError(error, options.baseUrl);
      }
    },
  };
}

function toModelError(error: unknown, baseUrl: string): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new EngineError('unavailable', `The model at ${baseUrl} did not answer in time.`, {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new EngineError('unavailable', 'The model call was aborted.', { cause: error });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new EngineError(
      'unavailable',
      `The model at ${baseUrl} could not be reached: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof OpenAI.APIError) {
    return new EngineError(
      'model',
      `The model answered ${error.status ?? 'an error'}: ${error.message}`,
      { cause: error },
    );
  }
  return new EngineError(
    'model',
    `The model call failed: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}
