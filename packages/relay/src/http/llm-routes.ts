/**
 * The model proxy: `POST /v1/llm/chat/completions` and `GET /v1/llm/models` forward to the
 * relay's own OpenAI-compatible endpoint with the relay's key, so a key set on the relay serves
 * every signed-in device. Streaming answers pass through as they come. Every call is counted and
 * timed by outcome (`baton_proxy_calls_total`, `baton_proxy_call_duration_seconds`).
 */
import { EngineError, invalidFromZod } from '@baton/engine';
import { Hono } from 'hono';
import { z } from 'zod';
import type { RelayConfig } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

export const noModelMessage =
  'No model is configured on the relay: set OPENAI_BASE_URL (and OPENAI_API_KEY, BATON_MODEL) and restart.';

/** Largest chat request the proxy forwards (a long conversation with tool results). */
export const maxProxyBytes = 10 * 1024 * 1024;

/**
 * What the proxy checks of a chat request before forwarding it: a JSON object with at least one
 * message that has a role. Everything else passes through as sent for the endpoint to judge.
 */
export const ProxyChatRequestSchema = z.looseObject({
  model: z.string().optional(),
  messages: z
    .array(z.looseObject({ role: z.string().min(1) }), 'must be an array of messages')
    .min(1, 'must hold at least one message'),
  stream: z.boolean().optional(),
});

type Route = 'chat' | 'models';
type Outcome = 'ok' | 'model_error' | 'unavailable' | 'no_model' | 'invalid';

export function llmRoutes(options: { model: RelayConfig['model']; metrics: Metrics }) {
  const { metrics } = options;
  const routes = new Hono<AppEnv>();
  const count = (route: Route, outcome: Outcome) => metrics.proxyCalls.inc({ route, outcome });

  function requireModel(route: Route): NonNullable<RelayConfig['model']> {
    if (options.model) return options.model;
    count(route, 'no_model');
    throw new EngineError('no_model', noModelMessage);
  }

  async function forward(request: {
    route: Route;
    path: string;
    method: string;
    body?: string;
    signal: AbortSignal;
  }): Promise<Response> {
    const model = requireModel(request.route);
    const stopTimer = metrics.proxyDuration.startTimer({ route: request.route });
    let upstream: Response;
    try {
      upstream = await fetch(`${model.baseUrl}${request.path}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${model.apiKey}`,
          'content-type': 'application/json',
          accept: request.path.endsWith('completions') ? '*/*' : 'application/json',
        },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.any([request.signal, AbortSignal.timeout(model.timeoutMs)]),
      });
    } catch (error) {
      stopTimer({ outcome: 'unavailable' });
      count(request.route, 'unavailable');
      throw new EngineError(
        'unavailable',
        `The relay could not reach its model at ${model.baseUrl}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const outcome: Outcome = upstream.ok ? 'ok' : 'model_error';
    stopTimer({ outcome });
    count(request.route, outcome);
    const headers = new Headers();
    for (const name of ['content-type', 'cache-control', 'x-request-id']) {
      const value = upstream.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers });
  }

  routes.post('/chat/completions', async (context) => {
    const model = requireModel('chat');
    let body: z.infer<typeof ProxyChatRequestSchema>;
    try {
      const { value } = await readJson(context, { maxBytes: maxProxyBytes });
      const parsed = ProxyChatRequestSchema.safeParse(value);
      if (!parsed.success) throw invalidFromZod(parsed.error);
      body = parsed.data;
    } catch (error) {
      count('chat', 'invalid');
      throw error;
    }
    if (!body.model) body.model = model.name;
    return forward({
      route: 'chat',
      path: '/chat/completions',
      method: 'POST',
      body: JSON.stringify(body),
      signal: context.req.raw.signal,
    });
  });

  routes.get('/models', (context) =>
    forward({ route: 'models', path: '/models', method: 'GET', signal: context.req.raw.signal }),
  );

  return routes;
}
