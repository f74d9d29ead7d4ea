/**
 * The engine's LanguageModel port on the `openai` SDK, against any OpenAI-compatible base URL:
 * the one model adapter, used by the relay's runner and by the browser's worker.
 *
 * Every call has a timeout (`timeoutMs`), honours the caller's signal, and is made exactly once:
 * the SDK's automatic retries are off, because a retry would be a second paid model call that the
 * claims, metrics and budgets never see (the engine's retry rule, schedule/retry.ts, plans a
 * failed slot again). Failures reject with an EngineError:
 * - `unavailable`: the endpoint could not be reached, timed out, or answered 408, 429 or 5xx
 *   (worth retrying later);
 * - `unauthorized`: it refused the key (401, 403);
 * - `no_model`: no endpoint is configured, or Baton's relay proxy says it has no model;
 * - `model`: it refused the request or failed in another way (retrying would not help).
 * An answer without a message resolves with `message: null` (it was billed; the planner counts
 * its tokens and records it as `bad_answer`).
 * Messages never hold the API key or the credentials of the base URL (they are redacted, and the
 * SDK's error is not kept as the cause), since they reach the mission's iterations and the log.
 */
import { EngineError, type ChatResponse, type LanguageModel, type ToolCall } from '@baton/engine';
import OpenAI from 'openai';
import { createRedactor } from './redact.ts';

/** One OpenAI-compatible endpoint and how to speak of its failures. */
export interface OpenAiEndpoint {
  /** Ends with `/v1` for most servers. */
  baseUrl: string;
  apiKey: string;
  /** The model used when a mission names none. */
  defaultModel: string;
  /**
   * The name sent when a request asks for `defaultModel` ('' lets Baton's relay proxy use the
   * model it is configured with). By default `defaultModel` itself.
   */
  defaultModelSentAs?: string;
  /** The host's wording for failures it can say more about (what to set, and where). */
  wording?: FailureWording;
}

export interface FailureWording {
  /** The endpoint could not be reached; `detail` is the SDK's reason. */
  unreachable?: (detail: string) => string;
  /** The endpoint answered 401 or 403. */
  unauthorized?: string;
  /** The endpoint (Baton's relay proxy) answered that it has no model. */
  noModel?: string;
}

export interface OpenAiModelOptions {
  /**
   * Where the calls go. A function is read on every call, so a change (a device's Settings)
   * applies to the next call; when it returns undefined, calls reject with `no_model`.
   */
  endpoint: OpenAiEndpoint | (() => OpenAiEndpoint | undefined);
  /** The `no_model` message when `endpoint` returns undefined. */
  noEndpointMessage?: string;
  /** Per call, in ms. */
  timeoutMs: number;
  /**
   * How requests go out; the platform's `fetch` by default. The relay passes one on undici's
   * request API, which costs Node about half the CPU per call (relay/src/runner/model-fetch.ts).
   */
  fetch?: typeof globalThis.fetch;
}

export function createOpenAiModel(options: OpenAiModelOptions): LanguageModel {
  const endpointOf = typeof options.endpoint === 'function' ? options.endpoint : () => endpoint;
  const endpoint = typeof options.endpoint === 'function' ? undefined : options.endpoint;
  let cached: { key: string; client: OpenAI; redact: (text: string) => string } | undefined;

  function connect(target: OpenAiEndpoint) {
    const key = `${target.baseUrl}\n${target.apiKey}`;
    if (cached?.key !== key)
      cached = {
        key,
        client: new OpenAI({
          baseURL: target.baseUrl,
          apiKey: target.apiKey,
          timeout: options.timeoutMs,
          maxRetries: 0,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
        redact: createRedactor({ secrets: [target.apiKey], url: target.baseUrl }),
      };
    return cached;
  }

  return {
    get defaultModel() {
      return endpointOf()?.defaultModel;
    },
    async complete(request, { signal }): Promise<ChatResponse> {
      const target = endpointOf();
      if (!target)
        throw new EngineError('no_model', options.noEndpointMessage ?? 'No model is configured.');
      const { client, redact } = connect(target);
      const model =
        request.model === target.defaultModel
          ? (target.defaultModelSentAs ?? target.defaultModel)
          : request.model;
      try {
        const completion = await client.chat.completions.create(
          {
            model,
            messages: request.messages,
            ...(request.tools.length > 0 ? { tools: request.tools } : {}),
          },
          { signal, timeout: options.timeoutMs, maxRetries: 0 },
        );
        const usage = {
          promptTokens: completion.usage?.prompt_tokens ?? 0,
          completionTokens: completion.usage?.completion_tokens ?? 0,
        };
        const answeredBy = completion.model || request.model;
        const message = completion.choices?.[0]?.message;
        // An answer without a message is unusable, but billed: it goes to the planner, which
        // records it as `bad_answer` and counts its tokens.
        if (!message) return { message: null, usage, model: answeredBy, raw: completion };
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
          usage,
          model: answeredBy,
          raw: completion,
        };
      } catch (error) {
        throw toModelError({ error, target, redact });
      }
    },
  };
}

function toModelError(options: {
  error: unknown;
  target: OpenAiEndpoint;
  redact: (text: string) => string;
}): EngineError {
  const { error, target, redact } = options;
  const wording = target.wording ?? {};
  const endpoint = redact(target.baseUrl);
  if (error instanceof EngineError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError)
    return new EngineError('unavailable', `The model at ${endpoint} did not answer in time.`);
  if (error instanceof OpenAI.APIUserAbortError)
    return new EngineError('unavailable', 'The model call was aborted.');
  if (error instanceof OpenAI.APIConnectionError)
    return new EngineError(
      'unavailable',
      redact(
        wording.unreachable?.(error.message) ??
          `The model at ${endpoint} could not be reached: ${error.message}`,
      ),
    );
  if (error instanceof OpenAI.APIError) {
    if (batonKindOf(error.error) === 'no_model')
      return new EngineError(
        'no_model',
        wording.noModel ?? `The model endpoint at ${endpoint} has no model configured.`,
      );
    if (error.status === 401 || error.status === 403)
      return new EngineError(
        'unauthorized',
        wording.unauthorized ??
          redact(`The model at ${endpoint} refused the API key (${error.status}).`),
      );
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

/** The `kind` of a Baton relay error body (`{error: {kind}}`, which the SDK hands over as the
 * inner object or the whole body); undefined for any other endpoint's error. */
function batonKindOf(body: unknown): string | undefined {
  const shaped = body as { kind?: unknown; error?: { kind?: unknown } } | null | undefined;
  const kind = shaped?.kind ?? shaped?.error?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** An HTTP status that says "not now" rather than "not this": timeout, rate limit, server error. */
function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
