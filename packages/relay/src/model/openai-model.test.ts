import { isEngineError } from '@baton/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { createOpenAiModel } from './openai-model.ts';

describe('openai model adapter', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await createModelServer();
  });
  afterAll(() => server.close());

  const tools = [
    {
      type: 'function' as const,
      function: {
        name: 'list_tasks',
        description: 'List tasks',
        parameters: { type: 'object', properties: {} },
      },
    },
  ];

  it('returns tool calls, usage and the raw answer', async () => {
    server.setScript(undefined);
    const before = server.callCount();
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: 'k',
      defaultModel: 'scripted-model',
      timeoutMs: 5_000,
    });
    const response = await model.complete(
      { model: 'scripted-model', messages: [{ role: 'user', content: 'plan' }], tools },
      { signal: new AbortController().signal },
    );
    expect(response.message.tool_calls.map((call) => call.function.name)).toEqual(['list_tasks']);
    expect(response.usage.promptTokens).toBeGreaterThanOrEqual(0);
    expect(response.raw).toBeTruthy();
    expect(server.callCount() - before).toBe(1);
  });

  it('makes one call only when the endpoint fails (no hidden retry)', async () => {
    server.setScript(() => ({ status: 500, error: 'overloaded' }));
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: 'k',
      defaultModel: 'm',
      timeoutMs: 5_000,
    });
    const before = server.callCount();
    const failure = await model
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    // A 5xx is transient: the engine's retry rule plans the slot again later.
    expect(isEngineError(failure, 'unavailable')).toBe(true);
    expect(server.callCount() - before).toBe(1);
    server.setScript(undefined);
  });

  it('rejects with a model error when the endpoint answers an error', async () => {
    server.setScript(() => ({ status: 400, error: 'bad request from script' }));
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: 'k',
      defaultModel: 'm',
      timeoutMs: 5_000,
    });
    const failure = await model
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    expect(isEngineError(failure, 'model')).toBe(true);
  });

  it('rejects as unavailable when the endpoint is rate limited, so the slot is retried', async () => {
    server.setScript(() => ({ status: 429, error: 'slow down' }));
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: 'k',
      defaultModel: 'm',
      timeoutMs: 5_000,
    });
    const failure = await model
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    expect(isEngineError(failure, 'unavailable')).toBe(true);
    server.setScript(undefined);
  });

  it('rejects as unavailable when the call times out', async () => {
    server.setScript(() => ({ content: 'late', delayMs: 3_000 }));
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: 'k',
      defaultModel: 'm',
      timeoutMs: 1_000,
    });
    const failure = await model
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    expect(isEngineError(failure, 'unavailable')).toBe(true);
    server.setScript(undefined);
  });

  it('keeps the key and the URL credentials out of its error messages', async () => {
    const key = 'sk-relay-secret-0123456789';
    server.setScript((_body, _index, { headers }) => ({
      status: 400,
      error: `bad key: ${String(headers.authorization)}`,
    }));
    const model = createOpenAiModel({
      baseUrl: server.url,
      apiKey: key,
      defaultModel: 'm',
      timeoutMs: 5_000,
    });
    const failure = await model
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    expect(isEngineError(failure, 'model')).toBe(true);
    expect((failure as Error).message).not.toContain(key);
    expect((failure as Error).message).toContain('Bearer [redacted]');
    expect((failure as Error).cause).toBeUndefined();
    server.setScript(undefined);

    const port = new URL(server.url).port;
    const withCredentials = createOpenAiModel({
      baseUrl: `http://relayuser:hunter2-pass@127.0.0.1:${port}/v1`,
      apiKey: key,
      defaultModel: 'm',
      timeoutMs: 5_000,
    });
    const unreachable = await withCredentials
      .complete({ model: 'm', messages: [], tools: [] }, { signal: new AbortController().signal })
      .catch((error: unknown) => error);
    expect(isEngineError(unreachable)).toBe(true);
    expect((unreachable as Error).message).not.toContain('hunter2');
    expect((unreachable as Error).message).not.toContain('relayuser');
  });
});
