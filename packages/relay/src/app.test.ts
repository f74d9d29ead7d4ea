import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createModelServer, type ModelServer } from './testing/model-server.ts';
import { describeOnEachDatabase } from './testing/describe-on-database.ts';
import {
  bobToken,
  createChangeFactory,
  createTestRelay,
  type TestRelay,
} from './testing/test-relay.ts';

/** What @hono/node-server passes for a request that came over a socket from `address`. */
const socketFrom = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
const loopback = socketFrom('127.0.0.1');

describeOnEachDatabase('relay app', (kind) => {
  let relay: TestRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });
  const createRelay = (
    options: Omit<Parameters<typeof createTestRelay>[0] & object, 'kind'> = {},
  ) => createTestRelay({ kind, ...options });

  it('reports health and Prometheus metrics without a token', async () => {
    relay = await createRelay();
    const health = await relay.call('/health', { token: null });
    expect(await health.json()).toEqual({
      ok: true,
      database: 'ok',
      databaseKind: kind,
      model: 'not configured',
    });
    const change = createChangeFactory({ wallMs: relay.now.value });
    const pushBody = JSON.stringify({ deviceId: 'dev_a', changes: [change('t1'), change('t2')] });
    expect((await relay.call('/v1/sync/push', { body: pushBody })).status).toBe(200);
    const pull = await relay.call('/v1/sync/pull');
    const pulledBytes = (await pull.text()).length;
    const metrics = await relay.app.request('/metrics', {}, loopback);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('baton_pull_requests_total 1');
    expect(text).toContain('baton_pulled_changes_total 2');
    expect(text).toContain(`baton_pull_body_bytes_sum ${pulledBytes}`);
    expect(text).toContain('baton_pushed_changes_total{result="accepted"} 2');
    expect(text).toContain(`baton_push_body_bytes_sum ${pushBody.length}`);
    expect(text).toContain('baton_model_call_duration_seconds');
  });

  it('serves metrics to this machine, or elsewhere only with METRICS_TOKEN', async () => {
    relay = await createRelay({ config: { metricsToken: 'metrics-token-0123456789' } });
    expect((await relay.app.request('/metrics', {}, loopback)).status).toBe(200);
    expect((await relay.app.request('/metrics', {}, socketFrom('::1'))).status).toBe(200);
    const remote = socketFrom('203.0.113.9');
    const refused = await relay.app.request('/metrics', {}, remote);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('METRICS_TOKEN');
    const wrong = { headers: { authorization: 'Bearer metrics-token-wrong-012' } };
    expect((await relay.app.request('/metrics', wrong, remote)).status).toBe(401);
    // A user's token is not the metrics token.
    expect(
      (
        await relay.app.request(
          '/metrics',
          { headers: { authorization: `Bearer ${bobToken}` } },
          remote,
        )
      ).status,
    ).toBe(401);
    const right = { headers: { authorization: 'Bearer metrics-token-0123456789' } };
    expect((await relay.app.request('/metrics', right, remote)).status).toBe(200);
    // Without a token configured, only this machine.
    await relay.close();
    relay = await createRelay();
    expect((await relay.app.request('/metrics', right, remote)).status).toBe(401);
  });

  it('answers CORS only for listed origins, and marks every answer nosniff with no referrer', async () => {
    relay = await createRelay({ config: { corsOrigins: ['https://app.example.com'] } });
    const preflight = (origin: string) =>
      relay!.app.request('/v1/me', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    expect(
      (await preflight('https://app.example.com')).headers.get('access-control-allow-origin'),
    ).toBe('https://app.example.com');
    expect(
      (await preflight('https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull();
    const me = await relay.call('/v1/me', { headers: { origin: 'https://evil.example' } });
    expect(me.headers.get('access-control-allow-origin')).toBeNull();
    expect(me.headers.get('x-content-type-options')).toBe('nosniff');
    expect(me.headers.get('referrer-policy')).toBe('no-referrer');
    await relay.close();
    relay = await createRelay();
    expect(
      (await preflight('https://app.example.com')).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('tells each signed-in user who they are, and whether the relay has a model', async () => {
    relay = await createRelay();
    expect(await (await relay.call('/v1/me')).json()).toEqual({
      userId: relay.users.alice,
      name: 'alice',
      model: { configured: false, name: null },
    });
    expect(await (await relay.call('/v1/me', { token: bobToken })).json()).toEqual({
      userId: relay.users.bob,
      name: 'bob',
      model: { configured: false, name: null },
    });
    await relay.close();
    relay = await createRelay({
      model: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'k', name: 'llama3.1', timeoutMs: 1_000 },
    });
    expect(await (await relay.call('/v1/me')).json()).toMatchObject({
      model: { configured: true, name: 'llama3.1' },
    });
    expect((await relay.call('/v1/me', { token: null })).status).toBe(401);
    expect((await relay.call('/v1/me', { token: 'wrong-token-0123456789' })).status).toBe(401);
  });

  it('answers a CORS preflight of a listed origin echoing the requested headers, without a token', async () => {
    relay = await createRelay({ config: { corsOrigins: ['http://localhost:5173'] } });
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
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-headers')).toContain(
      'x-stainless-retry-count',
    );
  });

  it('answers unknown API paths with a 404 error body', async () => {
    relay = await createRelay();
    const response = await relay.call('/v1/nothing');
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { kind: string } }).error.kind).toBe('not_found');
  });

  it('says how to build the webapp when it is missing', async () => {
    relay = await createRelay();
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

    it('sends the pages a Content-Security-Policy allowing their own inline script by hash, and no framing', async () => {
      const inline = 'navigator.serviceWorker.register("/service-worker.js")';
      writeFileSync(
        join(webappDir, '200.html'),
        `<html><script type="module" src="/_app/start.js"></script><script>${inline}</script>app shell</html>`,
      );
      relay = await createRelay({ webappDir });
      const page = await relay.call('/missions/m_1', { token: null });
      const policy = page.headers.get('content-security-policy') ?? '';
      const hash = createHash('sha256').update(inline).digest('base64');
      expect(policy).toContain(`script-src 'self' 'sha256-${hash}'`);
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).toContain("object-src 'none'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      // A script file is not a page: no policy, but nosniff.
      const file = await relay.call('/_app/start.js', { token: null });
      expect(file.headers.get('content-security-policy')).toBeNull();
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
      writeFileSync(join(webappDir, '200.html'), '<html>app shell</html>');
    });

    it('serves files, and the app shell for unknown pages', async () => {
      relay = await createRelay({ webappDir });
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
    const relayModel = () => ({
      baseUrl: model.url,
      apiKey: 'secret',
      name: 'scripted-model',
      timeoutMs: 10_000,
    });

    it('answers 503 no_model with how to configure one when the relay has none', async () => {
      relay = await createRelay();
      const response = await relay.call('/v1/llm/chat/completions', { body: { messages: [] } });
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { kind: string; message: string } };
      expect(body.error.kind).toBe('no_model');
      expect(body.error.message).toContain('OPENAI_BASE_URL');
    });

    it("forwards chat completions with the relay's model name", async () => {
      relay = await createRelay({ model: relayModel() });
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
      relay = await createRelay({ model: relayModel() });
      const response = await relay.call('/v1/llm/chat/completions', {
        body: { stream: true, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const text = await response.text();
      expect(text).toContain('data: ');
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    });

    it('refuses malformed JSON, a body that is not a chat request, and one over 10 MB, forwarding none', async () => {
      relay = await createRelay({ model: relayModel() });
      const before = model.callCount();
      const refusals = [
        { body: '{"messages": [', status: 400, field: undefined },
        { body: '["not", "an", "object"]', status: 400, field: undefined },
        { body: { messages: 'hello' }, status: 400, field: 'messages' },
        { body: { messages: [] }, status: 400, field: 'messages' },
        { body: { messages: [{ content: 'no role' }] }, status: 400, field: 'messages.0.role' },
        {
          body: { messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] },
          status: 413,
          field: undefined,
        },
      ];
      for (const refusal of refusals) {
        const response = await relay.call('/v1/llm/chat/completions', { body: refusal.body });
        expect(response.status, JSON.stringify(refusal.body).slice(0, 60)).toBe(refusal.status);
        const error = ((await response.json()) as { error: { kind: string; field?: string } })
          .error;
        expect(error.kind).toBe(refusal.status === 413 ? 'too_large' : 'invalid');
        expect(error.field).toBe(refusal.field);
      }
      expect(model.callCount()).toBe(before);
      const text = await relay.metrics.registry.metrics();
      expect(text).toContain('baton_proxy_calls_total{route="chat",outcome="invalid"} 6');
    });

    it('counts and times proxied calls by outcome', async () => {
      relay = await createRelay({ model: relayModel() });
      const chat = { body: { messages: [{ role: 'user', content: 'hi' }] } };
      expect((await relay.call('/v1/llm/chat/completions', chat)).status).toBe(200);
      model.setScript(() => ({ status: 500, error: 'overloaded' }));
      expect((await relay.call('/v1/llm/chat/completions', chat)).status).toBe(500);
      model.setScript(undefined);
      expect((await relay.call('/v1/llm/models')).status).toBe(200);
      const text = await relay.metrics.registry.metrics();
      expect(text).toContain('baton_proxy_calls_total{route="chat",outcome="ok"} 1');
      expect(text).toContain('baton_proxy_calls_total{route="chat",outcome="model_error"} 1');
      expect(text).toContain('baton_proxy_calls_total{route="models",outcome="ok"} 1');
      expect(text).toContain(
        'baton_proxy_call_duration_seconds_count{route="chat",outcome="ok"} 1',
      );
    });

    it('answers 503 unavailable, counted, when its model cannot be reached', async () => {
      relay = await createRelay({
        model: { ...relayModel(), baseUrl: 'http://127.0.0.1:9/v1' },
      });
      const response = await relay.call('/v1/llm/chat/completions', {
        body: { messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { kind: string } }).error.kind).toBe(
        'unavailable',
      );
      expect(await relay.metrics.registry.metrics()).toContain(
        'baton_proxy_calls_total{route="chat",outcome="unavailable"} 1',
      );
    });
  });
});
