import { createOpenAiModel } from '@baton/engine/openai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { createModelFetch } from './model-fetch.ts';

/** A plain HTTP server answering each request with `handle`; it records what it was sent. */
async function startServer(
  handle: (request: IncomingMessage, body: string, response: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += String(chunk)));
    request.on('end', () => handle(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the model fetch', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends the method, headers and body, and answers with the status, headers and body', async () => {
    const sent: Array<Record<string, string | undefined>> = [];
    const { url, server } = await startServer((request, body, response) => {
      sent.push({
        method: request.method,
        url: request.url,
        type: request.headers['content-type'],
        body,
      });
      response.setHeader('x-request-id', 'req_1');
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true }));
    });
    servers.push(server);
    const fetch = createModelFetch();
    const response = await fetch(`${url}/v1/chat/completions?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ask: 'plan' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.json()).toEqual({ ok: true });
    expect(sent).toEqual([
      {
        method: 'POST',
        url: '/v1/chat/completions?x=1',
        type: 'application/json',
        body: '{"ask":"plan"}',
      },
    ]);
  });

  it('hands over the body read whole: once, as text, JSON, bytes or a stream, and in a clone', async () => {
    const { url, server } = await startServer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"answer":"plan é"}');
    });
    servers.push(server);
    const fetch = createModelFetch();
    const first = await fetch(url, { method: 'POST', body: '{}' });
    const copy = first.clone();
    expect(first.bodyUsed).toBe(false);
    expect(await first.json()).toEqual({ answer: 'plan é' });
    expect(first.bodyUsed).toBe(true);
    await expect(first.text()).rejects.toThrow(TypeError);
    expect(new TextDecoder().decode(await copy.arrayBuffer())).toBe('{"answer":"plan é"}');
    const streamed = await fetch(url, { method: 'POST', body: '{}' });
    expect(await new Response(streamed.body).text()).toBe('{"answer":"plan é"}');
    await expect(streamed.text()).rejects.toThrow(TypeError);
    expect(new TextDecoder().decode(await (await fetch(url)).bytes())).toBe('{"answer":"plan é"}');
  });

  it('follows a redirect as fetch does, and answers a 204 without a body', async () => {
    const { url, server } = await startServer((request, _body, response) => {
      if (request.url === '/old') response.writeHead(307, { location: '/new' }).end();
      else response.writeHead(204).end();
    });
    servers.push(server);
    const response = await createModelFetch()(`${url}/old`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('rejects when the signal aborts a call still waiting on its answer', async () => {
    const { url, server } = await startServer(() => undefined); // never answers
    servers.push(server);
    const controller = new AbortController();
    const answer = createModelFetch()(url, { signal: controller.signal });
    controller.abort();
    await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('the model client on the model fetch', () => {
  let model: ModelServer;
  beforeEach(async () => {
    model = await createModelServer();
  });
  afterEach(() => model.close());

  it('plans through the OpenAI SDK: the answer and its usage arrive as with fetch', async () => {
    const client = createOpenAiModel({
      endpoint: { baseUrl: model.url, apiKey: 'key', defaultModel: 'scripted-model' },
      timeoutMs: 5_000,
      fetch: createModelFetch(),
    });
    const answer = await client.complete(
      {
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'Mission: tidy the backlog' }],
        tools: [],
      },
      { signal: new AbortController().signal },
    );
    expect(model.callCount()).toBe(1);
    expect(answer.model).toBe('scripted-model');
    expect(answer.message).toEqual({ content: 'Done.', tool_calls: [] });
  });

  it('gives the SDK the text of a refusal, which the error then quotes', async () => {
    const { url, server } = await startServer((_request, _body, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'tools are not supported by this model' } }));
    });
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = createOpenAiModel({
      endpoint: { baseUrl: url, apiKey: 'key', defaultModel: 'm' },
      timeoutMs: 5_000,
      fetch: createModelFetch(),
    });
    await expect(
      client.complete(
        { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [] },
        { signal: new AbortController().signal },
      ),
    ).rejects.toMatchObject({
      kind: 'model',
      message: expect.stringContaining('tools are not supported by this model'),
    });
  });

  it('says the model could not be reached, and times out, as with fetch', async () => {
    const unreachable = createOpenAiModel({
      endpoint: { baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'key', defaultModel: 'm' },
      timeoutMs: 5_000,
      fetch: createModelFetch(),
    });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }], tools: [] };
    await expect(
      unreachable.complete(request, { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    model.setDelay(2_000);
    const slow = createOpenAiModel({
      endpoint: { baseUrl: model.url, apiKey: 'key', defaultModel: 'm' },
      timeoutMs: 200,
      fetch: createModelFetch(),
    });
    await expect(
      slow.complete(request, { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/time/i) });
  });
});
