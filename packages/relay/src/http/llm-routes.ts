/**
 * The model proxy: `POST /v1/llm/chat/completions` and `GET /v1/llm/models` forward to the
 * relay's own OpenAI-compatible endpoint with the relay's key, so a key set on the relay serves
 * every signed-in device. What it guards:
 *
 * - the request: validated (400 naming the field), `model` one the relay offers (BATON_MODEL,
 *   BATON_MODELS), `n` lowered to 1 and token caps to MODEL_MAX_TOKENS (chat-request.ts);
 * - each user's share: calls in flight, calls a minute, tokens a day, per process; a refusal is
 *   429 `budget` with `Retry-After` (user-limits.ts);
 * - the relay's credentials: the endpoint's error bodies are never passed on (the user gets the
 *   status and a short reason, the log gets the body redacted), and the key and URL credentials
 *   are redacted from every message and log line (redact.ts).
 *
 * Streaming answers pass through as they come; their tokens count when the last chunk carries
 * `usage` (the proxy asks for it). Every call is counted and timed by outcome
 * (`baton_proxy_calls_total`, `baton_proxy_call_duration_seconds`), and per user id
 * (`baton_proxy_user_*`).
 */
import { EngineError } from '@baton/engine';
import { Hono, type Context } from 'hono';
import type { ProxySettings, RelayConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { prepareChatRequest, type ProxyChatRequest } from '../proxy/chat-request.ts';
import { countStreamedUsage, tokensOfAnswer } from '../proxy/count-usage.ts';
import { createRedactor } from '@baton/engine/openai';
import { mapUpstreamError, type ProxyErrorAnswer } from '../proxy/upstream-error.ts';
import type { UserLimitsTracker } from '../proxy/user-limits.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

export const noModelMessage =
  'No model is configured on the relay: set OPENAI_BASE_URL (and OPENAI_API_KEY, BATON_MODEL) and restart.';

/** Largest chat request the proxy forwards (a long conversation with tool results). */
export const maxProxyBytes = 10 * 1024 * 1024;

type Route = 'chat' | 'models';
type Outcome = 'ok' | 'model_error' | 'unavailable' | 'no_model' | 'invalid' | 'refused';
type Model = NonNullable<RelayConfig['model']>;

/** The models a proxied call may name: the default first, then BATON_MODELS. */
export function allowedModels(model: Model, proxy: Pick<ProxySettings, 'extraModels'>): string[] {
  return [...new Set([model.name, ...proxy.extraModels])];
}

export function llmRoutes(options: {
  model: RelayConfig['model'];
  proxy: ProxySettings;
  limits: UserLimitsTracker;
  metrics: Metrics;
  logger: Logger;
}) {
  const { metrics, logger, limits, proxy } = options;
  const routes = new Hono<AppEnv>();
  const redact = createRedactor({
    secrets: [options.model?.apiKey],
    url: options.model?.baseUrl,
  });
  const endpointForLogs = options.model && redact(options.model.baseUrl);
  const count = (route: Route, outcome: Outcome) => metrics.proxyCalls.inc({ route, outcome });

  function answerError(context: Context<AppEnv>, error: ProxyErrorAnswer): Response {
    metrics.httpErrors.inc({ kind: error.kind });
    if (error.retryAfterSeconds !== undefined)
      context.header('retry-after', String(error.retryAfterSeconds));
    return context.json({ error: { kind: error.kind, message: error.message } }, error.status);
  }

  function requireModel(route: Route): Model {
    if (options.model) return options.model;
    count(route, 'no_model');
    throw new EngineError('no_model', noModelMessage);
  }

  /** Sends one call to the endpoint; answers the user's error itself when it fails. */
  async function send(
    context: Context<AppEnv>,
    request: { route: Route; model: Model; path: string; body?: string },
  ): Promise<{ upstream: Response } | { failed: Response }> {
    const { route, model } = request;
    const stopTimer = metrics.proxyDuration.startTimer({ route });
    const userId = context.get('user').id;
    let upstream: Response;
    try {
      upstream = await fetch(`${model.baseUrl}${request.path}`, {
        method: request.body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${model.apiKey}`,
          'content-type': 'application/json',
          accept: route === 'chat' ? '*/*' : 'application/json',
        },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.any([context.req.raw.signal, AbortSignal.timeout(model.timeoutMs)]),
      });
    } catch (error) {
      stopTimer({ outcome: 'unavailable' });
      count(route, 'unavailable');
      const name = (error as Error)?.name;
      const reason =
        name === 'TimeoutError'
          ? `it did not answer within ${Math.round(model.timeoutMs / 1000)} s`
          : name === 'AbortError'
            ? 'the call was cancelled'
            : 'it could not be reached';
      logger.warn(
        { route, userId, endpoint: endpointForLogs, problem: redact(describeError(error)) },
        'model proxy: the endpoint could not be reached',
      );
      return {
        failed: answerError(context, {
          status: 503,
          kind: 'unavailable',
          message: `The relay could not get an answer from its model endpoint: ${reason}.`,
        }),
      };
    }
    if (upstream.ok) {
      stopTimer({ outcome: 'ok' });
      count(route, 'ok');
      return { upstream };
    }
    stopTimer({ outcome: 'model_error' });
    count(route, 'model_error');
    const body = await upstream.text().catch(() => '');
    logger.warn(
      {
        route,
        userId,
        endpoint: endpointForLogs,
        status: upstream.status,
        body: redact(body.slice(0, 1_000)),
      },
      'model proxy: the endpoint answered an error',
    );
    const mapped = mapUpstreamError({
      status: upstream.status,
      body,
      retryAfter: upstream.headers.get('retry-after'),
      redact,
    });
    return { failed: answerError(context, mapped) };
  }

  /** Admits the user's call or answers 429; `finish` must be called when the call ends. */
  function admit(context: Context<AppEnv>, route: Route) {
    const userId = context.get('user').id;
    const admission = limits.admit(userId);
    if (admission.admitted) {
      metrics.proxyUserCalls.inc({ user_id: userId });
      return {
        finish(tokens: number) {
          admission.finish(tokens);
          if (tokens > 0) metrics.proxyUserTokens.inc({ user_id: userId }, tokens);
        },
      };
    }
    count(route, 'refused');
    metrics.proxyUserRefusals.inc({ user_id: userId, limit: admission.limit });
    return {
      refused: answerError(context, {
        status: 429,
        kind: 'budget',
        message: admission.message,
        retryAfterSeconds: admission.retryAfterSeconds,
      }),
    };
  }

  routes.post('/chat/completions', async (context) => {
    const model = requireModel('chat');
    let body: ProxyChatRequest;
    try {
      const { value } = await readJson(context, { maxBytes: maxProxyBytes });
      body = prepareChatRequest(value, {
        defaultModel: model.name,
        allowedModels: allowedModels(model, proxy),
        maxTokens: proxy.maxTokens,
      });
    } catch (error) {
      count('chat', 'invalid');
      throw error;
    }
    const call = admit(context, 'chat');
    if ('refused' in call) return call.refused;
    let sent: Awaited<ReturnType<typeof send>>;
    try {
      sent = await send(context, {
        route: 'chat',
        model,
        path: '/chat/completions',
        body: JSON.stringify(body),
      });
    } catch (error) {
      call.finish(0);
      throw error;
    }
    if ('failed' in sent) {
      call.finish(0);
      return sent.failed;
    }
    const { upstream } = sent;
    const headers = new Headers();
    for (const name of ['content-type', 'cache-control', 'x-request-id']) {
      const value = upstream.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    if (upstream.body && headers.get('content-type')?.includes('text/event-stream')) {
      const counted = countStreamedUsage(upstream.body, (tokens) => call.finish(tokens));
      return new Response(counted, { status: upstream.status, headers });
    }
    let text = '';
    try {
      text = await upstream.text();
    } finally {
      call.finish(tokensOfAnswer(text));
    }
    return new Response(text, { status: upstream.status, headers });
  });

  /** The endpoint's model list, narrowed to the models this relay offers. */
  routes.get('/models', async (context) => {
    const model = requireModel('models');
    const call = admit(context, 'models');
    if ('refused' in call) return call.refused;
    try {
      const sent = await send(context, { route: 'models', model, path: '/models' });
      if ('failed' in sent) return sent.failed;
      const listed = (await sent.upstream.json().catch(() => null)) as {
        data?: unknown;
      } | null;
      if (!listed || !Array.isArray(listed.data)) {
        return answerError(context, {
          status: 502,
          kind: 'model',
          message: "The relay's model endpoint answered something other than a model list.",
        });
      }
      const offered = new Set(allowedModels(model, proxy));
      const data = listed.data.filter(
        (entry: unknown) =>
          typeof entry === 'object' &&
          entry !== null &&
          offered.has(String((entry as { id?: unknown }).id)),
      );
      return context.json({ object: 'list', data });
    } finally {
      call.finish(0);
    }
  });

  return routes;
}

/** A fetch failure's message with its cause's (undici puts the useful part in `cause`). */
function describeError(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const cause = (error as { cause?: unknown })?.cause;
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}
