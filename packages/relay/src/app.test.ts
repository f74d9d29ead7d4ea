import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createModelServer, type ModelServer } from './testing/model-server.ts';
import { createTestRelay, type TestRelay } from './testing/test-relay.ts';

describe('relay app', () => {
  let relay: TestRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('reports health and Prometheus metrics without a token', async () => {
    relay = await createTestRelay();
    const health = await relay.call('/health', { token: null });
    expect(await health.json()).toEqual({
      ok: true,
      database: 'ok',
      databaseKind: 'pglite',
      model: 'not configured',
    });
    await relay.call('/v1/sync/pull');
    const metrics = await relay.call('/metrics', { token: null });
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('baton_pull_requests_total 1');
    expect(text).toContain('baton_model_call_duration_seconds');
  });

  it('tells the signed-in user who they are', async () => {
    relay = await createTestRelay();
    const response = await relay.call('/v1/me');
    expect(await response.json()).toEqual({ userId: relay.users.alice, name: 'alice' });
    expect((await relay.call('/v1/me', { token: null })).status).toBe(401);
  });

  it('answers a CORS preflight echoing the requested headers, without a token', async () => {
    relay = await createTestRelay();
    const response = await relay.call('/v1/llm/chat/completions', {
      method: 'OPTIONS',
      token: null,
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers':
          'authorization,content-type,x-stainless-os,x-stainless-retry-count',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain(
      'x-stainless-retry-count',
    );
  });

  it('answers unknown API paths with a 404 error body', async () => {
    relay = await createTestRelay();
    const response = await relay.call('/v1/nothing');
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { kind: string } }).error.kind).toBe('not_found');
  });

  it('says how to build the webapp when it is missing', async () => {
    relay = await createTestRelay();
    const response = await relay.call('/', { token: null });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('npm run build -w @baton/webapp');
  });

  describe('with a built webapp', () => {
    let webappDir: string;
    beforeAll(() => {
      webappDir = mkdtempSync(join(tmpdir(), 'baton-webapp-'));
      writeFileSync(join(webappDir, '200.html'), '<html>app shell</html>');
      mkdirSync(join(webappDir, '_app'));
      writeFileSync(join(webappDir, '_app', 'start.js'), 'console.log(1)');
    });
    afterAll(() => rmSync(webappDir, { recursive: true, force: true }));

    it('serves files, and the app shell for unknown pages', async () => {
      relay = await createTestRelay({ webappDir });
      const file = await relay.call('/_app/start.js', { token: null });
      expect(await file.text()).toBe('console.log(1)');
      expect(file.headers.get('content-type')).toContain('javascript');
      for (const path of ['/', '/missions/m_1', '/inbox']) {
        const page = await relay.call(path, { token: null });
        expect(page.status).toBe(200);
        expect(await page.text()).toBe('<html>app shell</html>');
      }
      expect((await relay.call('/v1/unknown', { token: null })).status).toBe(401);
    });
  });

  describe('model proxy', () => {
    let model: ModelServer;
    beforeAll(async () => {
      model = await createModelServer();
    });
    afterAll(() => model.close());

    it('answers 503 no_model with how to configure one when the relay has none', async () => {
      relay = await createTestRelay();
      const response = await relay.call('/v1/llm/chat/completions', { body: { messages: [] } });
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { kind: string; message: string } };
      expect(body.error.kind).toBe('no_model');
      expect(body.error.message).toContain('OPENAI_BASE_URL');
    });

    it("forwards chat completions with the relay's model name", async () => {
      relay = await createTestRelay({
        model: { baseUrl: model.url, apiKey: 'secret', name: 'scripted-model', timeoutMs: 10_000 },
      });
      const before = model.callCount();
      const response = await relay.call('/v1/llm/chat/completions', {
        body: { messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content).toBe('Done.');
      expect(model.callCount()).toBe(before + 1);
      expect(model.calls.at(-1)?.model).toBe('scripted-model');
      expect(
        (await relay.call('/v1/llm/chat/completions', { body: { messages: [] }, token: null }))
          .status,
      ).toBe(401);
    });

    it('passes a streamed answer through as server-sent events', async () => {
      relay = await createTestRelay({
        model: { baseUrl: model.url, apiKey: 'secret', name: 'scripted-model', timeoutMs: 10_000 },
      });
      const response = await relay.call('/v1/llm/chat/completions', {
        body: { stream: true, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const text = await response.text();
      expect(text).toContain('data: ');
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    });
  });
});
