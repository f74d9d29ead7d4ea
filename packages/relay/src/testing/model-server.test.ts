import OpenAI from 'openai';
import { afterEach, describe, expect, test } from 'vitest';
import { createModelServer, type ModelServer } from './model-server.ts';

const tools = ['list_tasks', 'create_task'].map((name) => ({
  type: 'function' as const,
  function: { name, parameters: { type: 'object', properties: {} } },
}));

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof createModelServer>[0] = {}) {
  server = await createModelServer(options);
  const client = new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 0 });
  return { server, client };
}

describe('scripted model server', () => {
  test('plays list_tasks, then create_task, then a final answer, counting every call', async () => {
    const { server, client } = await start();
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'plan my day' },
    ];
    const called: string[] = [];
    for (let round = 0; round < 5; round++) {
      const completion = await client.chat.completions.create({ model: 'm', messages, tools });
      const message = completion.choices[0]!.message;
      messages.push(message);
      if (!message.tool_calls?.length) break;
      for (const call of message.tool_calls) {
        if (call.type !== 'function') continue;
        called.push(`${call.function.name} ${call.function.arguments}`);
        messages.push({ role: 'tool', tool_call_id: call.id, content: '[]' });
      }
    }
    expect(called).toEqual([
      'list_tasks {}',
      'create_task {"title":"Review open tasks","notes":"Planned by the scripted model"}',
    ]);
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Done.' });
    expect(server.callCount()).toBe(3);
    expect(server.calls[2]!.messages.at(-1)).toMatchObject({ role: 'tool' });
  });

  test('streams content and tool calls in OpenAI chunks that the SDK reassembles', async () => {
    const { server, client } = await start({
      script: () => ({
        content: 'Two steps planned.',
        toolCalls: [{ name: 'create_task', arguments: { title: 'Write the report' } }],
        usage: { prompt_tokens: 12, completion_tokens: 7 },
      }),
    });
    const stream = client.chat.completions.stream({
      model: 'm',
      messages: [{ role: 'user', content: 'plan' }],
      tools,
      stream_options: { include_usage: true },
    });
    let deltas = 0;
    stream.on('content', () => deltas++);
    const completion = await stream.finalChatCompletion();
    const message = completion.choices[0]!.message;
    expect(deltas).toBeGreaterThan(1);
    expect(message.content).toBe('Two steps planned.');
    expect(message.tool_calls?.[0]).toMatchObject({
      function: { name: 'create_task', arguments: '{"title":"Write the report"}' },
    });
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(completion.usage).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 7,
      total_tokens: 19,
    });
    expect(server.callCount()).toBe(1);
  });

  test('answers a scripted error with its status, and still counts the call', async () => {
    const { server, client } = await start({ script: () => ({ status: 429, error: 'slow down' }) });
    const call = client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    await expect(call).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining('slow down'),
    });
    expect(server.callCount()).toBe(1);
  });

  test('a delay longer than the client timeout makes the call time out', async () => {
    const { server, client } = await start();
    server.setDelay(2_000);
    const call = client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { timeout: 100 },
    );
    await expect(call).rejects.toThrow(/timed out/i);
  });

  test('lists a model and allows browser preflights with the SDK headers', async () => {
    const { server, client } = await start();
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['scripted-model']);
    const preflight = await fetch(`${server.url}/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-stainless-os',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
  });
});
