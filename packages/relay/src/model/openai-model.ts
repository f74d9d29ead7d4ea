/**
 * The engine's LanguageModel port on the `openai` SDK, against any OpenAI-compatible base URL.
 * Every call has a timeout (`timeoutMs`) and honours the caller's signal, and is made exactly
 * once: the SDK's automatic retries are off, because a retry would be a second model call the
 * runner's metrics and budgets never see (the engine's retry rule plans a failed slot again).
 * Failures reject with an EngineError: `unavailable` (it could not be reached, timed out, or
 * answered 408, 429 or 5xx: worth retrying later) or `model` (it refused the request or
 * answered nothing usable: retrying would not help). Their messages never hold the API key or
 * the credentials of the base URL (they are redacted, and the SDK's error is not kept as the
 * cause), since they reach the mission's iterations and the log. The runner counts and times
 * calls (instrument-model.ts).
 */
import { EngineError, type ChatResponse, type LanguageModel, type ToolCall } from '@baton/engine';
import OpenAI from 'openai';
import { createRedactor } from '../proxy/redact.ts';

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
  const redact = createRedactor({ secrets: [options.apiKey], url: options.baseUrl });
  const endpoint = redact(options.baseUrl);
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
        throw toModelError(error, endpoint, redact);
      }
    },
  };
}

function toModelError(
  error: unknown,
  endpoint: string,
  redact: (text: string) => string,
): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new EngineError('unavailable', `The model at ${endpoint} did not answer in time.`);
  }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new EngineError('unavailable', 'The model call was aborted.');
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new EngineError(
      'unavailable',
      redact(`The model at ${endpoint} could not be reached: ${error.message}`),
    );
  }
  if (error instanceof OpenAI.APIError) {
    return new EngineError(
      isTransientStatus(error.status) ? 'unavailable' : 'model',
      redact(`The model answered ${error.status ?? 'an error'}: ${error.message}`),
    );
  }
  return new EngineError(
    'model',
    redact(`The model call failed: ${(error as Error)?.message ?? String(error)}`),
  );
}

/** An HTTP status that says "not now" rather than "not this": timeout, rate limit, server error. */
function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
