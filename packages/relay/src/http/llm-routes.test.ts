import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxySettings } from '../config.ts';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { describeOn } from '../testing/describe-on-database.ts';
import { bobToken, createTestRelay, type TestRelay } from '../testing/test-relay.ts';

interface ErrorBody {
  error: { kind: string; message: string; field?: string };
}

const relayKey = 'sk-relay-secret-0123456789';
const hi = { messages: [{ role: 'user', content: 'hi' }] };

// The proxy keeps no rows: one database kind is enough.
describeOn('pglite', 'model proxy', () => {
  let model: ModelServer;
  let relay: TestRelay | undefined;
  let logLines: string[];
  beforeAll(async () => {
    model = await createModelServer();
  });
  afterAll(() => model.close());
  afterEach(async () => {
    model.setScript(undefined);
    model.setDelay(0);
    await relay?.close();
    relay = undefined;
  });

  const start = async (
    options: { proxy?: Partial<ProxySettings>; baseUrl?: string; name?: string } = {},
  ) => {
    logLines = [];
    relay = await createTestRelay({
      model: {
        baseUrl: options.baseUrl ?? model.url,
        apiKey: relayKey,
        name: options.name ?? 'scripted-model',
        timeoutMs: 10_000,
      },
      ...(options.proxy ? { proxy: options.proxy } : {}),
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    });
    return relay;
  };
  const chat = (active: TestRelay, body: unknown = hi, token?: string) =>
    active.call('/v1/llm/chat/completions', { body, ...(token ? { token } : {}) });

  describe('keeps the relay credentials from users', () => {
    it('maps an endpoint error that echoes the Authorization header to the relay error shape, without the key', async () => {
      const active = await start();
      const echo = (status: number) => () =>
        model.setScript((_body, _index, { headers }) => ({
          status,
          error: `rejected, you sent ${String(headers.authorization)}`,
        }));
      const expectations = [
        { upstream: 400, status: 400, kind: 'model' },
        { upstream: 401, status: 502, kind: 'model' },
        { upstream: 429, status: 429, kind: 'unavailable' },
        { upstream: 500, status: 500, kind: 'unavailable' },
      ];
      for (const expected of expectations) {
        echo(expected.upstream)();
        const response = await chat(active);
        const text = await response.text();
        expect(response.status, text).toBe(expected.status);
        expect(text).not.toContain(relayKey);
        expect(text).not.toContain('you sent');
        const body = JSON.parse(text) as ErrorBody;
        expect(Object.keys(body)).toEqual(['error']);
        expect(Object.keys(body.error).sort()).toEqual(['kind', 'message']);
        expect(body.error.kind).toBe(expected.kind);
        expect(body.error.message).toContain(String(expected.upstream));
      }
      // The operator still sees what the endpoint said, with the key redacted.
      const logs = logLines.join('\n');
      expect(logs).toContain('rejected, you sent Bearer [redacted]');
      expect(logs).not.toContain(relayKey);
      expect(await active.metrics.registry.metrics()).not.toContain(relayKey);
    });

    it("keeps the endpoint's error code as the short reason", async () => {
      const server = await startRawServer((response) => {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { message: 'too long', code: 'context_length_exceeded' } }),
        );
      });
      try {
        const response = await chat(await start({ baseUrl: server.url }));
        expect(response.status).toBe(400);
        expect(((await response.json()) as ErrorBody).error.message).toContain(
          '400 context_length_exceeded',
        );
      } finally {
        await server.close();
      }
    });

    it('names no credentials of the base URL in the 503, the log or the metrics', async () => {
      const port = new URL(model.url).port;
      const active = await start({ baseUrl: `http://relayuser:hunter2-pass@127.0.0.1:${port}/v1` });
      const response = await chat(active);
      const text = await response.text();
      expect(response.status).toBe(503);
      expect((JSON.parse(text) as ErrorBody).error.kind).toBe('unavailable');
      for (const shown of [text, logLines.join('\n'), await active.metrics.registry.metrics()]) {
        expect(shown).not.toContain('hunter2-pass');
        expect(shown).not.toContain('relayuser');
        expect(shown).not.toContain(relayKey);
      }
      expect(logLines.join('\n')).toContain('http://[redacted]@127.0.0.1');
    });
  });

  describe('forwards only what the relay allows', () => {
    it('refuses a model the relay does not offer with 400 naming the field, forwarding nothing', async () => {
      const active = await start({ proxy: { extraModels: ['small-model'] } });
      const before = model.callCount();
      const response = await chat(active, { ...hi, model: 'gpt-4-32k' });
      expect(response.status).toBe(400);
      const error = ((await response.json()) as ErrorBody).error;
      expect(error).toMatchObject({ kind: 'invalid', field: 'model' });
      expect(error.message).toContain('scripted-model, small-model');
      expect(model.callCount()).toBe(before);

      for (const [asked, sent] of [
        ['small-model', 'small-model'],
        ['scripted-model', 'scripted-model'],
        ['', 'scripted-model'],
        [undefined, 'scripted-model'],
      ] as const) {
        const body = asked === undefined ? hi : { ...hi, model: asked };
        expect((await chat(active, body)).status).toBe(200);
        expect(model.calls.at(-1)?.model).toBe(sent);
      }
    });

    it('lowers n to 1 and token caps to MODEL_MAX_TOKENS, keeping smaller ones', async () => {
      const active = await start({ proxy: { maxTokens: 1000 } });
      const greedy = { ...hi, n: 128, max_tokens: 1e6, max_completion_tokens: 1e6 };
      expect((await chat(active, greedy)).status).toBe(200);
      expect(model.calls.at(-1)).toMatchObject({
        n: 1,
        max_tokens: 1000,
        max_completion_tokens: 1000,
      });
      expect((await chat(active, { ...hi, n: 1, max_tokens: 200 })).status).toBe(200);
      expect(model.calls.at(-1)).toMatchObject({ n: 1, max_tokens: 200 });
      expect(model.calls.at(-1)).not.toHaveProperty('max_completion_tokens');
    });

    it('refuses badly typed fields with 400 naming the field', async () => {
      const active = await start();
      const before = model.callCount();
      for (const [body, field] of [
        [{ ...hi, n: 'two' }, 'n'],
        [{ ...hi, max_tokens: -5 }, 'max_tokens'],
        [{ ...hi, max_completion_tokens: 2.5 }, 'max_completion_tokens'],
        [{ ...hi, stream: 'yes' }, 'stream'],
        [{ ...hi, model: 42 }, 'model'],
        [{ messages: [{ role: '' }] }, 'messages.0.role'],
      ] as const) {
        const response = await chat(active, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(((await response.json()) as ErrorBody).error).toMatchObject({
          kind: 'invalid',
          field,
        });
      }
      expect(model.callCount()).toBe(before);
    });

    it('lists only the models the relay offers', async () => {
      const offered = await start();
      const listed = (await (await offered.call('/v1/llm/models')).json()) as {
        data: Array<{ id: string }>;
      };
      expect(listed.data.map((entry) => entry.id)).toEqual(['scripted-model']);
      await offered.close();
      const other = await start({ name: 'not-on-this-endpoint' });
      const none = (await (await other.call('/v1/llm/models')).json()) as { data: unknown[] };
      expect(none.data).toEqual([]);
    });
  });

  describe('limits each user', () => {
    it('lets through at most PROXY_MAX_IN_FLIGHT of 200 concurrent calls, and the rest get 429 with Retry-After', async () => {
      const active = await start({ proxy: { maxInFlight: 4, callsPerMinute: 1000 } });
      model.setDelay(300);
      const before = model.callCount();
      const responses = await Promise.all(Array.from({ length: 200 }, () => chat(active)));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(4);
      expect(statuses.filter((status) => status === 429)).toHaveLength(196);
      expect(model.callCount() - before).toBe(4);
      const refused = responses.find((response) => response.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('1');
      // A browser client may read it (it is not a CORS-safelisted header).
      expect(refused.headers.get('access-control-expose-headers')).toContain('retry-after');
      const error = ((await refused.json()) as ErrorBody).error;
      expect(error.kind).toBe('budget');
      expect(error.message).toContain('PROXY_MAX_IN_FLIGHT');
      // Once they finish, the same user may call again.
      model.setDelay(0);
      expect((await chat(active)).status).toBe(200);
    });

    it("does not count one user's calls against another's", async () => {
      const active = await start({ proxy: { maxInFlight: 1 } });
      model.setDelay(300);
      const [alice, aliceAgain, bob] = await Promise.all([
        chat(active),
        chat(active),
        chat(active, hi, bobToken),
      ]);
      expect([alice.status, aliceAgain.status].sort()).toEqual([200, 429]);
      expect(bob.status).toBe(200);
    });

    it('refuses calls past PROXY_CALLS_PER_MINUTE until the minute has passed', async () => {
      const active = await start({ proxy: { callsPerMinute: 3 } });
      for (let call = 0; call < 3; call += 1) {
        expect((await chat(active)).status).toBe(200);
        active.now.value += 10_000;
      }
      const refused = await chat(active);
      expect(refused.status).toBe(429);
      // The first call was 30 s ago: the window frees up in 30 s.
      expect(refused.headers.get('retry-after')).toBe('30');
      expect(((await refused.json()) as ErrorBody).error.message).toContain(
        'PROXY_CALLS_PER_MINUTE',
      );
      active.now.value += 30_000;
      expect((await chat(active)).status).toBe(200);
    });

    it('counts tokens from usage, streamed answers included, and refuses past PROXY_TOKENS_PER_DAY until the next UTC day', async () => {
      const active = await start({ proxy: { tokensPerDay: 100 } });
      model.setScript(() => ({
        content: 'ok',
        usage: { prompt_tokens: 40, completion_tokens: 20 },
      }));
      expect((await chat(active)).status).toBe(200);
      const streamed = await chat(active, { ...hi, stream: true });
      expect(streamed.status).toBe(200);
      expect(await streamed.text()).toContain('"usage"');
      // The proxy asked the endpoint for the usage of the streamed call.
      expect(model.calls.at(-1)?.stream_options).toEqual({ include_usage: true });
      const usage = (await (await active.call('/v1/me/usage')).json()) as Record<string, unknown>;
      expect(usage).toMatchObject({ callsToday: 2, tokensToday: 120, refusalsToday: 0 });

      const refused = await chat(active);
      expect(refused.status).toBe(429);
      // The test clock is 07:30 UTC: 16.5 hours until the day turns.
      expect(refused.headers.get('retry-after')).toBe(String(16.5 * 3600));
      expect(((await refused.json()) as ErrorBody).error.message).toContain('PROXY_TOKENS_PER_DAY');
      active.now.value += 16.5 * 3600 * 1000;
      expect((await chat(active)).status).toBe(200);
    });

    it('tells each user their usage today and the limits on GET /v1/me/usage', async () => {
      const active = await start({
        proxy: {
          extraModels: ['small-model'],
          maxInFlight: 2,
          callsPerMinute: 5,
          tokensPerDay: 500,
        },
      });
      model.setScript(() => ({ content: 'ok', usage: { prompt_tokens: 7, completion_tokens: 3 } }));
      await chat(active);
      await chat(active);
      const mine = await active.call('/v1/me/usage');
      expect(mine.status).toBe(200);
      expect(await mine.json()).toEqual({
        day: '2026-11-25',
        callsToday: 2,
        tokensToday: 20,
        refusalsToday: 0,
        inFlight: 0,
        limits: { maxInFlight: 2, callsPerMinute: 5, tokensPerDay: 500, maxTokens: 4096 },
        models: ['scripted-model', 'small-model'],
        scope: 'process',
      });
      const bobs = (await (await active.call('/v1/me/usage', { token: bobToken })).json()) as {
        callsToday: number;
      };
      expect(bobs.callsToday).toBe(0);
      expect((await active.call('/v1/me/usage', { token: null })).status).toBe(401);
    });

    it('reports calls, tokens and refusals per user id in /metrics, never names or tokens', async () => {
      const active = await start({ proxy: { callsPerMinute: 1 } });
      model.setScript(() => ({ content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 5 } }));
      expect((await chat(active)).status).toBe(200);
      expect((await chat(active)).status).toBe(429);
      const text = await active.metrics.registry.metrics();
      const alice = active.users.alice;
      expect(text).toContain(`baton_proxy_user_calls_total{user_id="${alice}"} 1`);
      expect(text).toContain(`baton_proxy_user_tokens_total{user_id="${alice}"} 10`);
      expect(text).toContain(
        `baton_proxy_user_refusals_total{user_id="${alice}",limit="calls_per_minute"} 1`,
      );
      expect(text).toContain('baton_proxy_calls_total{route="chat",outcome="refused"} 1');
      expect(text).not.toContain('alice');
    });
  });
});

/** A bare HTTP server answering every request with `answer`, for endpoint shapes the scripted
 * model server does not play. */
async function startRawServer(
  answer: (response: import('node:http').ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => answer(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
