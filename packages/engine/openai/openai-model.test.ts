import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isEngineError, type ChatRequest } from '@baton/engine';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAiModel } from './openai-model.ts';

/** What the local endpoint answers: a status and a JSON body, after an optional delay. */
interface Answer {
  status: number;
  body: unknown;
  delayMs?: number;
}

type Script = (call: {
  index: number;
  body: Record<string, unknown>;
  authorization: string;
}) => Answer;

const completion = (message: Record<string, unknown>, model = 'served-model'): Answer => ({
  status: 200,
  body: {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model,
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', ...message } }],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  },
});

const failure = (status: number, message: string, extra: Record<string, unknown> = {}): Answer => ({
  status,
  body: { error: { message, type: 'error', ...extra } },
});

/** A real OpenAI-compatible endpoint on loopback that records every request it receives. */
function startEndpoint() {
  const requests: Array<Record<string, unknown>> = [];
  let script: Script = () => completion({ content: 'Done.' });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      requests.push(body);
      const answer = script({
        index: requests.length - 1,
        body,
        authorization: String(request.headers.authorization),
      });
      const send = () => {
        if (response.destroyed) return;
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  return new Promise<{
    url: string;
    requests: typeof requests;
    script: (next: Script) => void;
    close: () => Promise<void>;
  }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        requests,
        script: (next) => (script = next),
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    }),
  );
}

describe('the openai model adapter', () => {
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  beforeAll(async () => {
    endpoint = await startEndpoint();
  });
  afterAll(() => endpoint.close());
  beforeEach(() => {
    endpoint.requests.length = 0;
    endpoint.script(() => completion({ content: 'Done.' }));
  });

  const request: ChatRequest = {
    model: 'm',
    messages: [{ role: 'user', content: 'plan' }],
    tools: [],
  };
  const signal = () => new AbortController().signal;
  const model = (overrides: { apiKey?: string; timeoutMs?: number; baseUrl?: string } = {}) =>
    createOpenAiModel({
      endpoint: {
        baseUrl: overrides.baseUrl ?? endpoint.url,
        apiKey: overrides.apiKey ?? 'k',
        defaultModel: 'm',
      },
      timeoutMs: overrides.timeoutMs ?? 5_000,
    });
  const failed = (promise: Promise<unknown>) => promise.catch((error: unknown) => error);

  it('returns tool calls, usage, the answering model and the raw answer', async () => {
    endpoint.script(() =>
      completion({
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'list_tasks', arguments: '{}' } },
        ],
      }),
    );
    const response = await model().complete(
      {
        ...request,
        tools: [
          {
            type: 'function',
            function: { name: 'list_tasks', description: 'List tasks', parameters: {} },
          },
        ],
      },
      { signal: signal() },
    );
    expect(response.message?.tool_calls.map((call) => call.function.name)).toEqual(['list_tasks']);
    expect(response.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
    expect(response.model).toBe('served-model');
    expect(response.raw).toBeTruthy();
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]?.tools).toHaveLength(1);
  });

  it('hands over an answer without a message with the tokens it was billed, for the planner to record', async () => {
    endpoint.script(() => ({
      status: 200,
      body: {
        id: 'chatcmpl-2',
        object: 'chat.completion',
        created: 0,
        model: 'served-model',
        choices: [],
        usage: { prompt_tokens: 420, completion_tokens: 3, total_tokens: 423 },
      },
    }));
    const response = await model().complete(request, { signal: signal() });
    expect(response).toMatchObject({
      message: null,
      usage: { promptTokens: 420, completionTokens: 3 },
      model: 'served-model',
    });
    expect(endpoint.requests).toHaveLength(1);
  });

  it('makes exactly one request when the endpoint answers 500 once (no hidden SDK retry)', async () => {
    endpoint.script(({ index }) =>
      index === 0 ? failure(500, 'overloaded') : completion({ content: 'Done.' }),
    );
    const error = await failed(model().complete(request, { signal: signal() }));
    // A 5xx is transient: the engine's retry rule plans the slot again later, not the SDK now.
    expect(isEngineError(error, 'unavailable')).toBe(true);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('rejects as unavailable on a rate limit and on a timeout, so the slot is retried', async () => {
    endpoint.script(() => failure(429, 'slow down'));
    expect(
      isEngineError(await failed(model().complete(request, { signal: signal() })), 'unavailable'),
    ).toBe(true);
    endpoint.script(() => ({ ...completion({ content: 'late' }), delayMs: 2_000 }));
    const late = await failed(model({ timeoutMs: 300 }).complete(request, { signal: signal() }));
    expect(isEngineError(late, 'unavailable')).toBe(true);
    expect((late as Error).message).toContain('did not answer in time');
    expect(endpoint.requests).toHaveLength(2);
  });

  it('rejects with a model error on a refused request, and unauthorized on a refused key', async () => {
    endpoint.script(() => failure(400, 'bad request from script'));
    expect(
      isEngineError(await failed(model().complete(request, { signal: signal() })), 'model'),
    ).toBe(true);
    endpoint.script(() => failure(401, 'bad key'));
    expect(
      isEngineError(await failed(model().complete(request, { signal: signal() })), 'unauthorized'),
    ).toBe(true);
  });

  it('keeps the key and the URL credentials out of its error messages', async () => {
    const key = 'sk-relay-secret-0123456789';
    endpoint.script(({ authorization }) => failure(400, `bad key: ${authorization}`));
    const refused = await failed(model({ apiKey: key }).complete(request, { signal: signal() }));
    expect(isEngineError(refused, 'model')).toBe(true);
    expect((refused as Error).message).not.toContain(key);
    expect((refused as Error).message).toContain('Bearer [redacted]');
    expect((refused as Error).cause).toBeUndefined();

    // A port nothing listens on: the connection fails, and the message names the endpoint.
    const closed = await startEndpoint();
    await closed.close();
    const port = new URL(closed.url).port;
    const unreachable = await failed(
      model({
        apiKey: key,
        baseUrl: `http://relayuser:hunter2-pass@127.0.0.1:${port}/v1`,
      }).complete(request, { signal: signal() }),
    );
    expect(isEngineError(unreachable, 'unavailable')).toBe(true);
    expect((unreachable as Error).message).not.toContain('hunter2');
    expect((unreachable as Error).message).not.toContain('relayuser');
  });

  it('reads a changing endpoint on every call, and says no_model when there is none', async () => {
    const settings: { current?: { baseUrl: string; apiKey: string; defaultModel: string } } = {};
    const adapter = createOpenAiModel({
      endpoint: () =>
        settings.current && {
          ...settings.current,
          defaultModelSentAs: '',
          wording: { noModel: 'Set a model in Settings.' },
        },
      noEndpointMessage: 'No model is configured here.',
      timeoutMs: 5_000,
    });
    expect(adapter.defaultModel).toBeUndefined();
    const none = await failed(adapter.complete(request, { signal: signal() }));
    expect(isEngineError(none, 'no_model')).toBe(true);
    expect((none as Error).message).toBe('No model is configured here.');
    expect(endpoint.requests).toHaveLength(0);

    settings.current = { baseUrl: endpoint.url, apiKey: 'token', defaultModel: 'relay-default' };
    expect(adapter.defaultModel).toBe('relay-default');
    await adapter.complete({ ...request, model: 'relay-default' }, { signal: signal() });
    // The default model goes out as '' so Baton's relay proxy picks the one it is configured with.
    expect(endpoint.requests[0]?.model).toBe('');

    endpoint.script(() => failure(503, 'no model', { kind: 'no_model' }));
    const proxyWithoutModel = await failed(adapter.complete(request, { signal: signal() }));
    expect(isEngineError(proxyWithoutModel, 'no_model')).toBe(true);
    expect((proxyWithoutModel as Error).message).toBe('Set a model in Settings.');
  });
});
