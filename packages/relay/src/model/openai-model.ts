/**
 * The engine's LanguageModel port on the `openai` SDK, against any OpenAI-compatible base URL.
 * Every call has a timeout (`timeoutMs`) and honours the caller's signal, and is made exactly
 * once: the SDK's automatic retries are off, because a retry would be a second model call the
 * runner's metrics and budgets never see (the engine's retry rule plans a failed slot again).
 * Failures reject with an EngineError: `unavailable` (it could not be reached, timed out, or
 * answered 408, 429 or 5xx: worth retrying later) or `model` (it refused the request or
 * answered nothing usable: retrying would not help). The runner counts and times calls
 * (instrument-model.ts).
 */
import { EngineError, type ChatResponse, type LanguageModel, type ToolCall } from '@baton/engine';
import OpenAI from 'openai';

export interface OpenAiModelOptions {
  baseUrl: string;
  apiKey: string;
  /** The model used when a mission names none. */
  defaultModel: string;
  /** Per call, in ms. */
  timeoutMs: number;
}

export function createOpenAiModel(options: OpenAiModelOptions): LanguageModel {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey,
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  return {
    defaultModel: options.defaultModel,
    async complete(request, { signal }): Promise<ChatResponse> {
      try {
        const completion = await client.chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
            ...(request.tools.length > 0 ? { tools: request.tools } : {}),
          },
          { signal, timeout: options.timeoutMs, maxRetries: 0 },
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
      isTransientStatus(error.status) ? 'unavailable' : 'model',
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

/** An HTTP status that says "not now" rather than "not this": timeout, rate limit, server error. */
function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
