/**
 * The model proxy: `POST /v1/llm/chat/completions` and `GET /v1/llm/models` forward to the
 * relay's own OpenAI-compatible endpoint with the relay's key, so a key set on the relay serves
 * every signed-in device. Streaming answers pass through as they come.
 */
import { EngineError } from '@baton/engine';
import { Hono } from 'hono';
import type { RelayConfig } from '../config.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

export const noModelMessage =
  'No model is configured on the relay: set OPENAI_BASE_URL (and OPENAI_API_KEY, BATON_MODEL) and restart.';

export function llmRoutes(options: { model: RelayConfig['model'] }) {
  const routes = new Hono<AppEnv>();

  async function forward(request: {
    path: string;
    method: string;
    body?: string;
    signal: AbortSignal;
  }): Promise<Response> {
    const model = options.model;
    if (!model) throw new EngineError('no_model', noModelMessage);
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
      throw new EngineError(
        'unavailable',
        `The relay could not reach its model at ${model.baseUrl}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const headers = new Headers();
    for (const name of ['content-type', 'cache-control', 'x-request-id']) {
      const value = upstream.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers });
  }

  routes.post('/chat/completions', async (context) => {
    if (!options.model) throw new EngineError('no_model', noModelMessage);
    const { value } = await readJson(context, { maxBytes: 10 * 1024 * 1024 });
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new EngineError('invalid', 'The body must be a chat completion request object.');
    }
    const body = value as Record<string, unknown>;
    if (typeof body.model !== 'string' || body.model === '') body.model = options.model.name;
    return forward({
      path: '/chat/completions',
      method: 'POST',
      body: JSON.stringify(body),
      signal: context.req.raw.signal,
    });
  });

  routes.get('/models', (context) =>
    forward({ path: '/models', method: 'GET', signal: context.req.raw.signal }),
  );

  return routes;
}
