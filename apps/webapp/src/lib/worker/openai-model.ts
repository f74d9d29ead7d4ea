import OpenAI from 'openai';
import { EngineError, type ChatResponse, type LanguageModel, type ToolCall } from '@baton/engine';
import { relayUrl, type RelayTargetSource } from './relay-http.ts';

/** Where this device's model is: a direct endpoint from Settings, else the relay's proxy. */
export interface ModelSettings {
  endpoint: string | undefined;
  apiKey: string | undefined;
  model: string | undefined;
}

/**
 * The default model name when planning through the relay's proxy. It is sent as '' so the relay
 * substitutes the model it is configured with.
 */
export const relayDefaultModel = 'relay-default';

export const noModelHelp =
  'No model is configured. Sign in to a relay that has a model (start it with OPENAI_BASE_URL, ' +
  'OPENAI_API_KEY and BATON_MODEL), or set a model endpoint and name for this device in Settings.';

export const deviceOnlyHelp =
  'This mission runs only on your devices, so its prompt never goes through the relay’s model: ' +
  'set a model endpoint for this device in Settings.';

/**
 * Adapts the `openai` SDK to the engine's LanguageModel port. Settings are read per call, so a
 * change in Settings applies to the next planning run. Runs inside the worker (no window), so the
 * SDK needs no `dangerouslyAllowBrowser`.
 */
export function createOpenAiModel(options: {
  settings: () => ModelSettings;
  relay: RelayTargetSource;
}): LanguageModel {
  let cached: { key: string; client: OpenAI } | undefined;

  function target():
    { baseURL: string; apiKey: string; model: string; viaRelay: boolean } | undefined {
    const settings = options.settings();
    if (settings.endpoint) {
      return {
        baseURL: settings.endpoint,
        apiKey: settings.apiKey || 'none',
        model: settings.model || relayDefaultModel,
        viaRelay: false,
      };
    }
    const relay = options.relay();
    if (relay.token)
      return {
        baseURL: relayUrl(relay.url, '/v1/llm'),
        apiKey: relay.token,
        model: relayDefaultModel,
        viaRelay: true,
      };
    return undefined;
  }

  function clientFor(baseURL: string, apiKey: string): OpenAI {
    const key = `${baseURL}\n${apiKey}`;
    // No retries in the SDK: a repeated call would be a conversation the claims and the budget
    // never count. A failed slot is tried again by the engine's own retry rule (schedule/retry.ts).
    if (cached?.key !== key)
      cached = { key, client: new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 }) };
    return cached.client;
  }

  return {
    get defaultModel() {
      return target()?.model;
    },
    async complete(request, { signal }): Promise<ChatResponse> {
      const current = target();
      if (!current) throw new EngineError('no_model', noModelHelp);
      // A device-only mission's prompt never leaves the person's devices (design §2).
      if (request.runOn === 'device' && current.viaRelay)
        throw new EngineError('no_model', deviceOnlyHelp);
      const client = clientFor(current.baseURL, current.apiKey);
      try {
        const response = await client.chat.completions.create(
          {
            model: current.viaRelay && request.model === relayDefaultModel ? '' : request.model,
            messages: request.messages as OpenAI.Chat.ChatCompletionMessageParam[],
            ...(request.tools.length > 0
              ? { tools: request.tools as OpenAI.Chat.ChatCompletionTool[] }
              : {}),
          },
          { signal },
        );
        const message = response.choices[0]?.message;
        const toolCalls: ToolCall[] = (message?.tool_calls ?? []).flatMap((call) =>
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
          message: { content: message?.content ?? null, tool_calls: toolCalls },
          usage: {
            promptTokens: response.usage?.prompt_tokens ?? 0,
            completionTokens: response.usage?.completion_tokens ?? 0,
          },
          model: response.model ?? request.model,
          raw: response,
        };
      } catch (error) {
        throw toEngineError(error, current.viaRelay);
      }
    },
  };
}

function toEngineError(error: unknown, viaRelay: boolean): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof OpenAI.APIUserAbortError)
    return new EngineError('unavailable', 'the model call was aborted');
  if (error instanceof OpenAI.APIConnectionError) {
    return new EngineError(
      'unavailable',
      viaRelay
        ? 'The relay is unreachable, and this device has no model endpoint of its own: offline, ' +
            'planning needs one (set it in Settings), or wait until the relay is back.'
        : `the model endpoint is unreachable: ${error.message}`,
    );
  }
  if (error instanceof OpenAI.APIError) {
    const body = error.error as
      { kind?: string; message?: string; error?: { kind?: string } } | undefined;
    const kind = body?.kind ?? body?.error?.kind;
    if (kind === 'no_model')
      return new EngineError(
        'no_model',
        viaRelay
          ? 'The relay has no model configured. Restart it with OPENAI_BASE_URL, OPENAI_API_KEY ' +
              'and BATON_MODEL, or set a model endpoint and name for this device in Settings.'
          : noModelHelp,
      );
    if (error.status === 401)
      return new EngineError(
        'unauthorized',
        viaRelay
          ? 'the relay refused the token; sign in again in Settings'
          : 'the model endpoint refused the API key',
      );
    // Timeout, rate limit, server error: `unavailable`, which the engine retries later.
    const status = error.status;
    const transient = status === 408 || status === 429 || (status !== undefined && status >= 500);
    return new EngineError(
      transient ? 'unavailable' : 'model',
      `the model answered ${error.status ?? 'with an error'}: ${error.message}`,
    );
  }
  return new EngineError('model', (error as Error)?.message ?? String(error));
}
